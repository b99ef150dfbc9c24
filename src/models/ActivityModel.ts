import { ISignal, Signal } from '@lumino/signaling';

import type { VaultClient } from '../api/client';
import type { ModelVault } from '../tokens';
import { PolledModel } from './PolledModel';

/**
 * Long operations in progress on the server (cold transfers, bundle exports),
 * polled every few seconds while the sidebar is visible.
 *
 * `operations` holds those still running; an operation that ends simply
 * disappears. One that failed is reported once through `failed` (the server
 * keeps failures listed for a while, so a failure between two polls, or while
 * the sidebar was hidden, is not lost); failures that predate the first load
 * are not reported.
 */
export class ActivityModel extends PolledModel<ModelVault.IActivity[]> {
  /**
   * Create the model.
   */
  constructor(options: ActivityModel.IOptions) {
    super({
      ...options,
      refreshInterval:
        options.refreshInterval ?? ActivityModel.DEFAULT_REFRESH_INTERVAL,
      name: 'modelvault-jlab:ActivityModel'
    });
  }

  /**
   * The operations still running, oldest first.
   */
  get operations(): ReadonlyArray<ModelVault.IActivity> {
    return this._operations;
  }

  /**
   * Emitted once for each failed operation, with the server's message.
   */
  get failed(): ISignal<this, ModelVault.IActivity> {
    return this._failed;
  }

  protected fetch(): Promise<ModelVault.IActivity[]> {
    return this.client.getActivity();
  }

  protected apply(items: ModelVault.IActivity[]): void {
    this._operations = items.filter(op => op.state !== 'failed');
    const failures = items.filter(op => op.state === 'failed');
    // Failures listed at the first load predate this session: they are shown
    // to nobody as news (a reload would otherwise repeat every recent toast).
    const fresh = this.isLoaded
      ? failures.filter(op => !this._reported.has(op.id))
      : [];
    // Forget ids the server no longer lists: the set stays as small as its list.
    this._reported = new Set(failures.map(op => op.id));
    if (!this.isDisposed) {
      fresh.forEach(op => this._failed.emit(op));
    }
  }

  private _failed = new Signal<this, ModelVault.IActivity>(this);
  private _operations: ReadonlyArray<ModelVault.IActivity> = [];
  private _reported = new Set<string>();
}

/**
 * The static namespace for `ActivityModel`.
 */
export namespace ActivityModel {
  /**
   * The default poll interval in milliseconds: live enough for a progress bar.
   */
  export const DEFAULT_REFRESH_INTERVAL = 2000;

  /**
   * Options to create an `ActivityModel`.
   */
  export interface IOptions {
    /**
     * The API client.
     */
    client: VaultClient;
    /**
     * Poll interval in milliseconds; `0` disables polling. Defaults to 2 s.
     */
    refreshInterval?: number;
    /**
     * Poll ticks are skipped while this returns `true`.
     */
    standby?: () => boolean;
  }
}
