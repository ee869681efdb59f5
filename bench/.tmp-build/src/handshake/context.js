export function initialSecurity() {
    return {
        secureRenegotiation: false,
        clientVerifyData: new Uint8Array(0),
        serverVerifyData: new Uint8Array(0),
        version: undefined,
        suite: undefined,
        extendedMasterSecret: false,
        peerCertificates: [],
        alpn: undefined,
        handshakes: 0,
    };
}
//# sourceMappingURL=context.js.map