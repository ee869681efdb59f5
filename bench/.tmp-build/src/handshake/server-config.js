export const SAFE_SERVER_RENEGOTIATION = {
    enabled: true,
    refuseWith: 'warning',
    allowClientInitiated: false,
    rfc5746: true,
    allowUnsafeLegacy: false,
    requireSecureClients: false,
    clientLimit: { count: 3, windowMs: 600_000 },
};
//# sourceMappingURL=server-config.js.map