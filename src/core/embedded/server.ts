// Serves one PGlite database to many PostgreSQL clients over a Unix socket.
//
// PGlite is a single backend session. Clients may only take turns at whole protocol exchanges:
// a client holds "the floor" from its first message until PGlite answers ReadyForQuery with
// status idle ('I'), so an extended-protocol batch (Parse/Bind/Execute/Sync) or an open
// transaction is never interleaved with another client's messages.
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { answerDumpRequest, DUMP_REQUEST_CODE } from './dump.js';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const TERMINATE = 0x58; // 'X'
const READY_FOR_QUERY = 0x5a; // 'Z'
const ERROR_RESPONSE = 0x45; // 'E', from the backend
const SYNC = 0x53; // 'S'
// Frontend messages of the extended protocol that a Sync ends: Parse, Bind, Describe, Execute, Close, Flush.
const EXTENDED = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48]);
const SYNC_MESSAGE = Uint8Array.from([0x53, 0, 0, 0, 4]); // 'S'
const ROLLBACK_QUERY = queryMessage('ROLLBACK');

function queryMessage(sql: string): Uint8Array {
  const body = Buffer.from(sql + '\0', 'utf8');
  const msg = Buffer.alloc(5 + body.length);
  msg[0] = 0x51; // 'Q'
  msg.writeInt32BE(4 + body.length, 1);
  body.copy(msg, 5);
  return msg;
}

/** The transaction status of the last ReadyForQuery in a backend response, if it has one. */
export function lastReadyStatus(response: Uint8Array): string | undefined {
  let status: string | undefined;
  let offset = 0;
  const view = Buffer.from(response.buffer, response.byteOffset, response.byteLength);
  while (offset + 5 <= view.length) {
    const type = view[offset]!;
    const length = view.readInt32BE(offset + 1);
    if (type === READY_FOR_QUERY && length === 5 && offset + 6 <= view.length) {
      status = String.fromCharCode(view[offset + 5]!);
    }
    offset += 1 + length;
  }
  return status;
}

/**
 * PGlite answers an error inside an extended-protocol batch with ErrorResponse and at once a
 * ReadyForQuery, where PostgreSQL sends ReadyForQuery only at the batch's Sync. A client would take the
 * early one as the end of its next query, and every answer after it would go to the wrong query. So
 * it is cut out here (and the rest of the batch skipped until Sync, as PostgreSQL does).
 */
export function withoutReadyAfterError(response: Uint8Array): { response: Uint8Array; failed: boolean } {
  const view = Buffer.from(response.buffer, response.byteOffset, response.byteLength);
  const kept: Buffer[] = [];
  let failed = false;
  let offset = 0;
  while (offset + 5 <= view.length) {
    const type = view[offset]!;
    const end = offset + 1 + view.readInt32BE(offset + 1);
    if (type === ERROR_RESPONSE) failed = true;
    if (!(failed && type === READY_FOR_QUERY)) kept.push(view.subarray(offset, end));
    offset = end;
  }
  return failed ? { response: Buffer.concat(kept), failed } : { response, failed };
}

/** A FIFO mutex: the floor. Held by a connection, or by a dump in its own name. */
class Floor {
  private holder: object | null = null;
  private waiting: Array<{ conn: object; grant: () => void }> = [];

  isHeldBy(conn: object): boolean {
    return this.holder === conn;
  }

  acquire(conn: object): Promise<void> {
    if (this.holder === conn) return Promise.resolve();
    if (this.holder === null) {
      this.holder = conn;
      return Promise.resolve();
    }
    return new Promise((grant) => this.waiting.push({ conn, grant }));
  }

  release(conn: object): void {
    if (this.holder !== conn) {
      this.waiting = this.waiting.filter((w) => w.conn !== conn);
      return;
    }
    const next = this.waiting.shift();
    this.holder = next ? next.conn : null;
    next?.grant();
  }
}

class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  private queue: Uint8Array[] = [];
  private pumping = false;
  private closed = false;
  /** An extended-protocol message failed: skip the rest of the batch up to its Sync. */
  private skippingToSync = false;

  constructor(
    private readonly socket: Socket,
    private readonly db: PGlite,
    private readonly floor: Floor,
    private readonly onClose: (conn: Connection) => void,
  ) {
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('close', () => void this.close());
    socket.on('error', () => socket.destroy());
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (!this.started) {
        // Start-up packets have no type byte: int32 length, int32 code.
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        const code = this.buffer.readInt32BE(4);
        const packet = this.buffer.subarray(0, length);
        this.buffer = this.buffer.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.socket.write('N');
          continue;
        }
        if (code === CANCEL_REQUEST) {
          this.socket.end(); // a single wasm backend cannot be interrupted mid-statement
          return;
        }
        if (code === DUMP_REQUEST_CODE) {
          void this.serveDump();
          return;
        }
        this.started = true;
        this.queue.push(Uint8Array.from(packet));
        continue;
      }
      if (this.buffer.length < 5) break;
      const length = 1 + this.buffer.readInt32BE(1);
      if (this.buffer.length < length) break;
      const message = Uint8Array.from(this.buffer.subarray(0, length));
      this.buffer = this.buffer.subarray(length);
      if (message[0] === TERMINATE) {
        this.socket.end();
        return;
      }
      this.queue.push(message);
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length && !this.closed) {
        const message = this.queue.shift()!;
        const type = message[0]!;
        if (this.skippingToSync && type !== SYNC) continue;
        await this.floor.acquire(this);
        if (this.closed) break;
        let response = await this.db.execProtocolRaw(message);
        if (type === SYNC) this.skippingToSync = false;
        else if (EXTENDED.has(type)) ({ response, failed: this.skippingToSync } = withoutReadyAfterError(response));
        if (!this.socket.destroyed) this.socket.write(response);
        if (lastReadyStatus(response) === 'I') this.floor.release(this);
      }
    } catch (error) {
      this.socket.destroy(error as Error);
    } finally {
      this.pumping = false;
    }
    if (this.queue.length && !this.closed) void this.pump();
  }

  /** A backup's dump (dump.ts). The floor is held in the dump's own name: a client that leaves early must not hand it on mid-dump. */
  private async serveDump(): Promise<void> {
    const dump = {};
    await this.floor.acquire(dump);
    try {
      const answer = await answerDumpRequest(this.db);
      if (!this.socket.destroyed) this.socket.end(answer);
    } finally {
      this.floor.release(dump);
    }
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    if (this.floor.isHeldBy(this)) {
      // The client went away mid-exchange: end its batch and roll back its transaction before anyone else goes.
      try {
        await this.db.execProtocolRaw(SYNC_MESSAGE);
        if (this.db.isInTransaction()) await this.db.execProtocolRaw(ROLLBACK_QUERY);
      } catch {
        // The session is reset by the next client's statements regardless.
      }
    }
    this.floor.release(this);
    this.onClose(this);
  }
}

export interface EmbeddedServer {
  readonly connections: number;
  /** Time of the last connect or disconnect, for idle shutdown. */
  readonly lastActivity: number;
  stop(): Promise<void>;
}

export async function serveEmbedded(db: PGlite, socketPath: string): Promise<EmbeddedServer> {
  const floor = new Floor();
  const open = new Set<Connection>();
  const sockets = new Set<Socket>();
  let lastActivity = Date.now();
  const server: Server = createServer((socket) => {
    lastActivity = Date.now();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    open.add(
      new Connection(socket, db, floor, (conn) => {
        open.delete(conn);
        lastActivity = Date.now();
      }),
    );
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  return {
    get connections() {
      return open.size;
    },
    get lastActivity() {
      return lastActivity;
    },
    stop: () =>
      new Promise<void>((resolvePromise) => {
        server.close(() => resolvePromise());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
