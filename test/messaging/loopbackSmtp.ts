/**
 * A real SMTP server (smtp-server) on 127.0.0.1 with a random port, for tests: it parses every
 * message it takes (mailparser) and can be told to answer the data with any reply code.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import type { SmtpSender } from '../../src/adapters/messaging/smtp.ts';

export interface Received {
  readonly parsed: ParsedMail;
  readonly raw: string;
  readonly envelopeTo: readonly string[];
}

export interface LoopbackSmtp {
  readonly port: number;
  readonly received: Received[];
  /** The reply to the message data; absent, 250. */
  answer: { readonly code: number; readonly text: string } | undefined;
  /** The reply to RCPT TO; absent, 250. */
  rcptAnswer: { readonly code: number; readonly text: string } | undefined;
  /** Take the data and never answer it (the client's socket timeout ends the wait). */
  holdData: boolean;
  /** Runs after a message is taken, before the server says 250 (to fail the host "right after"). */
  onAccepted: (() => void) | undefined;
  close(): Promise<void>;
}

const smtpError = (answer: { code: number; text: string }): Error => Object.assign(new Error(answer.text), { responseCode: answer.code });

/** On `port` when given (a server coming back where it was), else on a random free one. */
export const startLoopbackSmtp = async (port = 0): Promise<LoopbackSmtp> => {
  const state: Omit<LoopbackSmtp, 'port' | 'close'> = { received: [], answer: undefined, rcptAnswer: undefined, holdData: false, onAccepted: undefined };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    closeTimeout: 50,
    onRcptTo: (_address, _session, callback) => callback(state.rcptAnswer === undefined ? null : smtpError(state.rcptAnswer)),
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (state.holdData) return;
        if (state.answer !== undefined) return callback(smtpError(state.answer));
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            state.received.push({ parsed, raw: raw.toString('latin1'), envelopeTo: session.envelope.rcptTo.map((r) => r.address) });
            state.onAccepted?.();
            callback(null);
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  server.listen(port, '127.0.0.1');
  await once(server.server, 'listening');
  const bound = (server.server.address() as AddressInfo).port;
  return Object.assign(state, {
    port: bound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
};

/** A nodemailer transport to the loopback server, with short waits so failures come quickly. */
export const loopbackTransport = (port: number, waits: { greetingTimeout?: number; socketTimeout?: number } = {}): SmtpSender =>
  createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, connectionTimeout: 2_000, greetingTimeout: waits.greetingTimeout ?? 2_000, socketTimeout: waits.socketTimeout ?? 5_000 });

/** A port nothing listens on: bound by us, then released. */
export const closedPort = async (): Promise<number> => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
};

/** A TCP server that accepts and never says a word (no SMTP greeting). */
export const silentServer = async (): Promise<{ port: number; close(): Promise<void> }> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
};
