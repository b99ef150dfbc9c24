import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import type { VaultClient } from '../api/client';
import { describeError } from '../api/request';
import type { ModelVault } from '../tokens';
import { pollFrequency } from './polling';

/**
 * The list of repositories of the vault, reloaded on demand and by a poll.
 *
 * The poll does not start by itself: its owner calls `startPolling()` once
 * the server is known to be available. While `standby()` returns `true`
 * (for example while the sidebar is hidden), or the browser tab is hidden,
 * poll ticks do not reach the server.
 */
export class RepoListModel
  implements ModelVault.IRepositoryListModel, IDisposable
{
  /**
   * Create a repository list model.
   */
  constructor(options: RepoListModel.IOptions) {
    this._client = options.client;
    this._standby = options.standby ?? Private.never;
    this._poll = new Poll({
      auto: false,
      factory: () => this._load(),
      frequency: pollFrequency(
        options.refreshInterval ?? RepoListModel.DEFAULT_REFRESH_INTERVAL
      ),
      name: 'modelvault-jlab:RepoListModel',
      standby: () => this._standby() || 'when-hidden'
    });
  }

  /**
   * The repositories from the last successful load.
   */
  get items(): ReadonlyArray<ModelVault.IRepository> {
    return this._items;
  }

  /**
   * Whether at least one load succeeded.
   */
  get isLoaded(): boolean {
    return this._isLoaded;
  }

  /**
   * Whether a load is in flight.
   */
  get isLoading(): boolean {
    return this._pending !== null;
  }

  /**
   * The message of the last failed load, `null` after a success.
   */
  get error(): string | null {
    return this._error;
  }

  /**
   * Emitted whenever the items, the loading flag or the error change.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * The poll interval in milliseconds; `0` disables polling.
   */
  get refreshInterval(): number {
    const interval = this._poll.frequency.interval;
    return interval === Poll.NEVER ? 0 : interval;
  }
  set refreshInterval(milliseconds: number) {
    if (this.isDisposed) {
      return;
    }
    this._poll.frequency = pollFrequency(milliseconds);
    if (this._isPolling) {
      // Reschedule the next tick with the new interval.
      void this._poll.schedule();
    }
  }

  /**
   * Whether the model is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Start the poll (idempotent). The first tick loads immediately unless on standby.
   */
  startPolling(): void {
    if (this._isPolling || this.isDisposed) {
      return;
    }
    this._isPolling = true;
    void this._poll.start();
  }

  /**
   * Reload the list now. Concurrent calls share one request.
   *
   * Never rejects: a failure is reported through `error`.
   */
  async refresh(): Promise<void> {
    try {
      await this._load();
    } catch {
      // Reported through `error`.
    }
  }

  /**
   * Dispose of the model and stop polling.
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  /**
   * Load the list; rejects on failure so that the poll backs off.
   */
  private _load(): Promise<void> {
    if (this._pending) {
      return this._pending;
    }
    const pending = this._client.listRepositories().then(
      items => {
        this._items = items;
        this._isLoaded = true;
        this._error = null;
      },
      (reason: unknown) => {
        this._error = describeError(reason);
        throw reason;
      }
    );
    this._pending = pending.finally(() => {
      this._pending = null;
      this._emitChanged();
    });
    this._emitChanged();
    return this._pending;
  }

  private _emitChanged(): void {
    if (!this.isDisposed) {
      this._changed.emit();
    }
  }

  private _changed = new Signal<this, void>(this);
  private _client: VaultClient;
  private _error: string | null = null;
  private _isDisposed = false;
  private _isLoaded = false;
  private _isPolling = false;
  private _items: ReadonlyArray<ModelVault.IRepository> = [];
  private _pending: Promise<void> | null = null;
  private _poll: Poll;
  private _standby: () => boolean;
}

/**
 * The static namespace for `RepoListModel`.
 */
export namespace RepoListModel {
  /**
   * The default poll interval in milliseconds.
   */
  export const DEFAULT_REFRESH_INTERVAL = 30 * 1000;

  /**
   * Options to create a `RepoListModel`.
   */
  export interface IOptions {
    /**
     * The API client.
     */
    client: VaultClient;
    /**
     * Poll interval in milliseconds; `0` disables polling. Defaults to 30 s.
     */
    refreshInterval?: number;
    /**
     * Poll ticks are skipped while this returns `true`.
     */
    standby?: () => boolean;
  }
}

/**
 * Module internals.
 */
namespace Private {
  /**
   * A standby condition that never applies.
   */
  export function never(): boolean {
    return false;
  }
}
