import type { VaultClient } from '../api/client';
import type { ModelVault } from '../tokens';
import { PolledModel } from './PolledModel';

/**
 * The list of repositories of the vault, reloaded on demand and by a poll.
 *
 * The poll does not start by itself: its owner calls `startPolling()` once
 * the server is known to be available. While `standby()` returns `true`
 * (for example while the sidebar is hidden), or the browser tab is hidden,
 * poll ticks do not reach the server.
 */
export class RepoListModel
  extends PolledModel<ModelVault.IRepository[]>
  implements ModelVault.IRepositoryListModel
{
  /**
   * Create a repository list model.
   */
  constructor(options: RepoListModel.IOptions) {
    super({
      ...options,
      refreshInterval:
        options.refreshInterval ?? RepoListModel.DEFAULT_REFRESH_INTERVAL,
      name: 'modelvault-jlab:RepoListModel'
    });
  }

  /**
   * The repositories from the last successful load.
   */
  get items(): ReadonlyArray<ModelVault.IRepository> {
    return this._items;
  }

  protected fetch(): Promise<ModelVault.IRepository[]> {
    return this.client.listRepositories();
  }

  protected apply(items: ModelVault.IRepository[]): void {
    this._items = items;
  }

  private _items: ReadonlyArray<ModelVault.IRepository> = [];
}

/**
 * The static namespace for `RepoListModel`.
 */
export namespace RepoListModel {
  /**
   * The default poll interval in milliseconds.
   */
  export const DEFAULT_REFRESH_INTERVAL = PolledModel.DEFAULT_REFRESH_INTERVAL;

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
