/** Text placed in HTML: the five characters that could end an element or an attribute, escaped. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
