import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import type { VaultClient } from '../api/client';
import type { ModelVault } from '../tokens';

/**
 * State of the Set Me Up and Bundles sections: the chosen repository, the token
 * minted from the panel (kept in memory only, shown once) and the bundles probe.
 */
export class SetMeUpModel implements IDisposable {
  /**
   * Create the model.
   */
  constructor(options: SetMeUpModel.IOptions) {
    this._client = options.client;
  }

  /**
   * The chosen repository key (`null`: the first repository).
   */
  get repository(): string | null {
    return this._repository;
  }
  set repository(key: string | null) {
    if (key === this._repository) {
      return;
    }
    this._repository = key;
    this._emit();
  }

  /**
   * The token minted from the panel, if any.
   */
  get token(): ModelVault.IIssuedToken | null {
    return this._token;
  }

  /**
   * Whether a token is being minted.
   */
  get isMinting(): boolean {
    return this._isMinting;
  }

  /**
   * Bundles, `null` when the server has no bundles API, `undefined` before the probe.
   */
  get bundles(): ReadonlyArray<ModelVault.IBundle> | null | undefined {
    return this._bundles;
  }

  /**
   * The message of the last failed bundles load.
   */
  get bundlesError(): string | null {
    return this._bundlesError;
  }

  /**
   * Emitted whenever anything above changes.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Whether the model is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Mint a token limited to a repository (default: the chosen one).
   *
   * @throws The server's error, for the caller to report.
   */
  async mintToken(
    scope: 'read' | 'write',
    expiresInSeconds: number,
    repository: string | null = this._repository
  ): Promise<ModelVault.IIssuedToken> {
    const key = repository;
    this._isMinting = true;
    this._emit();
    try {
      this._token = await this._client.mintToken({
        name: `jupyterlab-${key ?? 'all'}`,
        scope,
        repositories: key ? [key] : [],
        expires_in_seconds: expiresInSeconds
      });
      return this._token;
    } finally {
      this._isMinting = false;
      this._emit();
    }
  }

  /**
   * Forget the minted token.
   */
  clearToken(): void {
    this._token = null;
    this._emit();
  }

  /**
   * Probe and load the bundles; never rejects.
   */
  async refreshBundles(): Promise<void> {
    try {
      this._bundles = await this._client.listBundles();
      this._bundlesError = null;
    } catch (error) {
      this._bundlesError = error instanceof Error ? error.message : `${error}`;
    }
    this._emit();
  }

  /**
   * Dispose of the model.
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _bundles: ReadonlyArray<ModelVault.IBundle> | null | undefined =
    undefined;
  private _bundlesError: string | null = null;
  private _changed = new Signal<this, void>(this);
  private _client: VaultClient;
  private _isDisposed = false;
  private _isMinting = false;
  private _repository: string | null = null;
  private _token: ModelVault.IIssuedToken | null = null;
}

/**
 * The static namespace for `SetMeUpModel`.
 */
export namespace SetMeUpModel {
  /**
   * Options to create a `SetMeUpModel`.
   */
  export interface IOptions {
    client: VaultClient;
  }
}
