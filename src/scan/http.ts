/** The little HTTP/1.1 the scanner speaks: a request, and when a response is complete. */

export function request(method: string, path: string, host: string, extra = ''): string {
  return `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: renego-scan\r\n${extra}Connection: close\r\n\r\n`;
}

export function isHttpResponse(text: string): boolean {
  return /^HTTP\/\d(?:\.\d)? \d{3}/.test(text);
}

/** `HTTP 403` from a response, or undefined when it is not one. */
export function statusOf(text: string): string | undefined {
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text);
  return m ? `HTTP ${m[1]}` : undefined;
}

/** True once the headers and the whole body (Content-Length or chunked) have arrived. */
export function responseComplete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const head = text.slice(0, end).toLowerCase();
  const body = text.slice(end + 4);
  const len = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (len) return Buffer.byteLength(body, 'latin1') >= Number(len[1]);
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) return /(?:^|\r\n)0\r\n\r\n$/.test(body);
  if (/^http\/\d(?:\.\d)? (?:1\d\d|204|304)/.test(head)) return true;
  return false;
}

/** Enough has arrived to stop reading: a complete response, or the start of something that is not HTTP. */
export function answerSettled(text: string): boolean {
  if (text.length >= 5 && !text.startsWith('HTTP/')) return true;
  return responseComplete(text);
}
