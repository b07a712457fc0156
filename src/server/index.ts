/**
 * The HTTP service as a library: mount `createApp` in your own Hono (or any fetch-based) server,
 * or run `startService` as it is. Node only (it opens sockets and files); the core does not
 * import it.
 */
export { type AppOptions, createApp } from './app.ts';
export { type DurableParts, openDurableParts } from './durable.ts';
export { type RunningService, type ServiceOptions, serviceOptionsFromEnv, startService } from './serve.ts';
export { createServiceWorld, type ServiceWorld, type ServiceWorldConfig } from './world.ts';
export type { CaptchaVerifier } from './abuse.ts';
export type { DevInbox, DevMessage } from './devInbox.ts';
export type { SessionIssuer } from './sessions.ts';
