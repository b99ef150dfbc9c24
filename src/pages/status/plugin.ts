import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { VaultClient } from '../../api/client';
import { ActivityModel } from '../../models/ActivityModel';
import { TransfersStatus } from './TransfersStatus';

/**
 * The command that shows the sidebar's Activity section (registered by the core plugin).
 */
export const SHOW_ACTIVITY = 'modelvault:show-activity';

/**
 * A status-bar item with the vault's transfers in progress; clicking it opens
 * the Activity view of the sidebar.
 */
export const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'modelvault-jlab:status',
  description: 'ModelVault transfers in progress, in the status bar.',
  autoStart: true,
  requires: [IStatusBar],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    statusBar: IStatusBar,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('modelvault_jlab');
    const model = new ActivityModel({
      client: new VaultClient({
        serverSettings: app.serviceManager.serverSettings
      }),
      refreshInterval: TransfersStatus.REFRESH_INTERVAL
    });
    const item = new TransfersStatus({
      model,
      trans,
      onOpen: () => void app.commands.execute(SHOW_ACTIVITY)
    });
    statusBar.registerStatusItem('modelvault-jlab:transfers', {
      item,
      align: 'left',
      rank: 900
    });
    model.startPolling();
  }
};
