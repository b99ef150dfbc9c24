import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import type { VaultClient } from '../api/client';
import { describeError } from '../api/request';
import { pollFrequency } from './polling';

/**
 * The polling plumbing shared by the sidebar's polled models: a load that is
 * reloaded on demand and by a poll, with `isLoaded`, `isLoading`, `error`,
 * `refreshInterval` and a `changed` signal.
 *
 * The poll does not start by itself: its owner calls `startPolling()` once the
 * server is known to be available. While `standby()` returns `true` (for
 * example while the sidebar is hidden), or the browser tab is hidden, poll
 * ticks do not reach the server. Concurrent loads share one request.
 */
export abstract class PolledModel<T> implements IDisposable {
  /**
   * Create the model.
   */
  constructor(options: PolledModel.IOptions) {
    this.client = options.client;
    this._standby = options.standby ?? Private.never;
    this._poll = new Poll({
      auto: false,
      factory: () => this._load(),
      frequency: pollFrequency(
        options.refreshInterval ?? PolledModel.DEFAULT_REFRESH_INTERVAL
      ),
      name: options.name,
      standby: () => this._standby() || 'when-hidden'
    });
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
   * Emitted whenever the model's state changes.
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
   * Reload now. Concurrent calls share one request.
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
   * The API client.
   */
  protected readonly client: VaultClient;

  /**
   * Fetch the data of one load.
   */
  protected abstract fetch(): Promise<T>;

  /**
   * Keep the data of a successful load.
   */
  protected abstract apply(data: T): void;

  /**
   * Emit `changed` unless disposed.
   */
  protected emitChanged(): void {
    if (!this.isDisposed) {
      this._changed.emit();
    }
  }

  /**
   * Load; rejects on failure so that the poll backs off.
   */
  private _load(): Promise<void> {
    if (this._pending) {
      return this._pending;
    }
    const pending = this.fetch().then(
      data => {
        this.apply(data);
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
      this.emitChanged();
    });
    this.emitChanged();
    return this._pending;
  }

  private _changed = new Signal<this, void>(this);
  private _error: string | null = null;
  private _isDisposed = false;
  private _isLoaded = false;
  private _isPolling = false;
  private _pending: Promise<void> | null = null;
  private _poll: Poll;
  private _standby: () => boolean;
}

/**
 * The static namespace for `PolledModel`.
 */
export namespace PolledModel {
  /**
   * The default poll interval in milliseconds.
   */
  export const DEFAULT_REFRESH_INTERVAL = 30 * 1000;

  /**
   * Options to create a polled model.
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
    /**
     * The name of the poll (for debugging).
     */
    name?: string;
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
