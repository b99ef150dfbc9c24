import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { formatSize } from '../../snippets';
import type { ModelVault } from '../../tokens';
import type { ActivityModel } from '../../models/ActivityModel';

/**
 * What the status item says about the operations in progress.
 */
export function transfersLabel(
  operations: ReadonlyArray<ModelVault.IActivity>,
  trans: TranslationBundle
): string {
  if (operations.length === 0) {
    return trans.__('No transfers');
  }
  const done = operations.reduce((sum, op) => sum + op.bytes_done, 0);
  return trans._n(
    '%1 transfer, %2',
    '%1 transfers, %2',
    operations.length,
    formatSize(done)
  );
}

/**
 * The status-bar item: a button reading "2 transfers, 12.0 MiB" that opens
 * the Activity view.
 */
export class TransfersStatus extends ReactWidget {
  constructor(options: TransfersStatus.IOptions) {
    super();
    this._options = options;
    this.addClass('jp-ModelVault-TransfersStatus');
  }

  protected render(): JSX.Element {
    const { model, trans, onOpen } = this._options;
    return (
      <UseSignal signal={model.changed}>
        {() => (
          <button
            type="button"
            className="jp-ModelVault-TransfersButton"
            data-count={model.operations.length}
            title={trans.__(
              'ModelVault transfers in progress: open the Activity view'
            )}
            aria-label={trans.__(
              'ModelVault: %1. Open the Activity view',
              transfersLabel(model.operations, trans)
            )}
            onClick={onOpen}
          >
            {trans.__(
              'ModelVault: %1',
              transfersLabel(model.operations, trans)
            )}
          </button>
        )}
      </UseSignal>
    );
  }

  private _options: TransfersStatus.IOptions;
}

/**
 * The static namespace for `TransfersStatus`.
 */
export namespace TransfersStatus {
  /**
   * Poll interval of the status item (ms): slower than the sidebar's view.
   */
  export const REFRESH_INTERVAL = 5000;

  export interface IOptions {
    model: ActivityModel;
    trans: TranslationBundle;
    onOpen: () => void;
  }
}
