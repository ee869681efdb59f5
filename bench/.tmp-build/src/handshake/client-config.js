export const DEFAULT_CLIENT_RENEGOTIATION = {
    accept: 'freely',
    refuseWith: 'warning',
    maxRefusals: 3,
    allowLegacyServer: false,
    allowUnsafeLegacyRenegotiation: false,
    signal: 'extension',
    serverCertificateChange: 'allow-with-ems',
};
//# sourceMappingURL=client-config.js.map