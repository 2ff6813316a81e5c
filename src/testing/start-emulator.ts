import { createEmulator, PUBLIC_BASE_PATH, type Emulator, type EmulatorOptions } from "../server.js";
import { allScopes } from "../domain/vocabulary.js";
import { ControlClient } from "./control-client.js";

/**
 * createEmulator's options; port, host, db and logLevel default to what a test suite wants. With
 * `controlToken`, the emulator requires it on its control plane and `control` sends it.
 */
export type StartEmulatorOptions = EmulatorOptions;

export interface StartedEmulator {
  /** The root URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The Records API base URL (`url` + `/public/v1`), what a client's `baseUrl` takes. */
  readonly apiUrl: string;
  /** A bearer token with every scope. */
  readonly token: string;
  /** The workspace `token` writes to. */
  readonly workspace: string;
  /** The control plane (`/_emulator`) of this emulator: faults, clock, journal, records, jobs, scenarios, reset. */
  readonly control: ControlClient;
  /** The in-process emulator, for what only code can reach (its clock, its Express app). */
  readonly emulator: Emulator;
  /** Stops the server and closes the database; calling it again does nothing. */
  stop(): Promise<void>;
}

/**
 * Starts an emulator for a test suite: a free loopback port, a throwaway in-memory database and no
 * logs unless told otherwise, and resolves once it accepts requests.
 */
export async function startEmulator(options: StartEmulatorOptions = {}): Promise<StartedEmulator> {
  const emulator = createEmulator({ port: 0, host: "127.0.0.1", db: ":memory:", logLevel: "silent", ...options });
  let url: string;
  try {
    ({ url } = await emulator.start());
  } catch (error) {
    // start() failed before anything listened (a busy port): stop() releases the database.
    await emulator.stop();
    throw error;
  }
  const control = new ControlClient(url, { controlToken: emulator.config.controlToken });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= emulator.stop());
  let credentials: { token: string; workspace: string };
  try {
    credentials = await allScopesToken(emulator, control);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, apiUrl: `${url}${PUBLIC_BASE_PATH}`, ...credentials, control, emulator, stop };
}

/**
 * The first configured token that can do everything (dev-token by default); when the caller
 * configured only narrow or expiring tokens, one is minted so `token` always works for every call.
 */
async function allScopesToken(emulator: Emulator, control: ControlClient): Promise<{ token: string; workspace: string }> {
  const configured = emulator.config.tokens.find(
    (token) => token.expiresAt === null && allScopes.every((scope) => token.scopes.includes(scope)),
  );
  if (configured) return { token: configured.token, workspace: configured.workspace };
  const workspace = emulator.config.tokens[0]?.workspace;
  if (workspace === undefined) return control.workspaces.create();
  const minted = await control.workspaces.mintToken({ workspace });
  return { token: minted.token, workspace: minted.workspace };
}
