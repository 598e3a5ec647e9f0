// The embedded database's dump, made by its server process (src/core/embedded/dump.ts says why and how):
// ask over the server's socket, write what comes back into the partial file.
import { connect } from 'node:net';
import { open } from 'node:fs/promises';
import type { Config } from '../core/config.js';
import { ensureEmbeddedServer } from '../core/embedded/client.js';
import { DUMP_REQUEST_CODE, type DumpHeader } from '../core/embedded/dump.js';
import type { Dumped } from './dump-server.js';
import { BackupError } from './errors.js';

export async function dumpEmbedded(config: Config, partial: string, signal: AbortSignal): Promise<Dumped> {
  const { socketPath } = await ensureEmbeddedServer(config);
  const request = Buffer.alloc(8);
  request.writeInt32BE(8, 0);
  request.writeInt32BE(DUMP_REQUEST_CODE, 4);
  const socket = connect(socketPath);
  const stop = () => socket.destroy(signal.reason as Error);
  signal.addEventListener('abort', stop, { once: true });
  const file = await open(partial, 'wx', 0o600);
  try {
    socket.write(request);
    let header: DumpHeader | undefined;
    let pending = Buffer.alloc(0);
    let written = 0;
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      if (header) {
        written += (await file.write(chunk)).bytesWritten;
        continue;
      }
      pending = Buffer.concat([pending, chunk]);
      const newline = pending.indexOf(0x0a);
      if (newline < 0) continue;
      header = parseHeader(pending.subarray(0, newline));
      written += (await file.write(pending.subarray(newline + 1))).bytesWritten;
    }
    if (!header) throw new BackupError('the embedded database server closed the connection without answering the dump request');
    if (!header.ok) throw new BackupError(`the embedded database server could not dump the database: ${header.error}`);
    if (written !== header.bytes) throw new BackupError(`the embedded database server sent ${written} of the dump's ${header.bytes} bytes`);
    return { serverVersion: header.serverVersion, pgDumpVersion: `${header.pgDumpVersion} (PGlite)`, tables: header.tables };
  } finally {
    signal.removeEventListener('abort', stop);
    socket.destroy();
    await file.close();
  }
}

function parseHeader(line: Buffer): DumpHeader {
  try {
    return JSON.parse(line.toString('utf8')) as DumpHeader;
  } catch {
    // A server of an older singularity takes the request for a connection and answers in the wire protocol.
    throw new BackupError('the embedded database server does not take dump requests (it was started by an older singularity)', {
      hint: 'It exits on its own after a while without clients; make the backup again then.',
    });
  }
}
