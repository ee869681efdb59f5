/** Where a benchmark ran: enough to tell whether two results are comparable. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
function cpuModel() {
    try {
        const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
        if (match)
            return match[1].trim();
    }
    catch {
        // not Linux: fall through to os.cpus()
    }
    return cpus()[0]?.model ?? 'unknown';
}
function opensslVersion() {
    try {
        return execFileSync('openssl', ['version'], { encoding: 'utf8', timeout: 5_000 }).trim();
    }
    catch {
        return 'unknown';
    }
}
export function describeMachine(now = new Date()) {
    return {
        date: now.toISOString().slice(0, 10),
        nproc: availableParallelism(),
        cpuModel: cpuModel(),
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        nodeOpenssl: process.versions.openssl ?? 'unknown',
        openssl: opensslVersion(),
    };
}
//# sourceMappingURL=machine.js.map