/**
 * Java's renegotiation switches, from a `.properties` file (`name=value`, `name: value`), a
 * command line, or JAVA_TOOL_OPTIONS (`-Dname=value`). All three are system properties read by
 * JSSE (OpenJDK sun/security/ssl/HandshakeContext.java, ServerHandshakeContext.java); set in
 * java.security (a security properties file) they do nothing, which is reported.
 */
import { linesOf, sourceAt } from './input.ts';
import { JAVA_PROPERTIES, type JavaProperties, type JavaSetting, type ParseNote } from './types.ts';

export function parseJavaProperties(file: string, text: string): JavaProperties {
  const settings: JavaSetting[] = [];
  const notes: ParseNote[] = [];
  const securityFile =
    /^\s*(security\.provider\.\d+|jdk\.tls\.disabledAlgorithms|jdk\.certpath\.disabledAlgorithms)\s*=/m.test(text);
  linesOf(text.replace(/^\uFEFF/, '')).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) return;
    const source = sourceAt(file, i + 1, raw);
    for (const name of JAVA_PROPERTIES) {
      const escaped = name.replace(/\./g, '\\.');
      const asFlag = new RegExp(`(?:^|[\\s"'])-D${escaped}(?:=([^\\s"']*))?`).exec(line);
      const asProperty = new RegExp(`^${escaped}\\s*[=:\\s]\\s*(.*)$`).exec(line);
      if (asFlag) {
        settings.push({ name, value: asFlag[1] ?? '', source });
      } else if (asProperty) {
        settings.push({ name, value: asProperty[1]!.trim(), source });
        if (securityFile) {
          notes.push({
            source,
            message: `${name} is a system property: in a security properties file (java.security) it has no effect; pass -D${name}=… instead`,
          });
        }
      }
    }
  });
  return { kind: 'java-properties', file, settings, notes };
}
