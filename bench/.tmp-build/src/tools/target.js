export function parseTarget(text, defaultPort = 443) {
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
    if (v6)
        return { host: v6[1], port: portOf(v6[2], defaultPort, text) };
    const parts = text.split(':');
    if (parts.length > 2)
        return { host: text, port: defaultPort }; // a bare IPv6 address
    return { host: parts[0], port: portOf(parts[1], defaultPort, text) };
}
function portOf(s, dflt, text) {
    if (s === undefined || s === '')
        return dflt;
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
        throw new Error(`bad port in ${text}`);
    return n;
}
export function formatTarget(t) {
    return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}
//# sourceMappingURL=target.js.map