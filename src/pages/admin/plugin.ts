import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ILayoutRestorer } from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { vaultIcon } from '../../icons';
import { IModelVault, ModelVault } from '../../tokens';
import { mainAreaPage, showMainAreaPage } from '../mainArea';
import type { AdminPanel, AdminTab } from './AdminPanel';

/**
 * The command that opens the admin page (arg `tab`: `repositories`,
 * `policies` or `tokens`).
 */
export const OPEN_ADMIN = 'modelvault:open-admin';

/**
 * Whether the handshake says the user administers the vault. The server
 * checks every admin call; this only decides what the UI offers.
 */
export function isAdmin(status: ModelVault.ServerStatus): boolean {
  return 'info' in status && !!status.info.user?.admin;
}

/**
 * The admin page in the main area, for vault administrators: repositories,
 * global policies with a preview, tokens. A palette command and an item of
 * the "ModelVault" menu (`schema/dashboard.json`), restored on reload.
 */
export const adminPlugin: JupyterFrontEndPlugin<void> = {
  id: 'modelvault-jlab:admin',
  description:
    'ModelVault administration: repositories, global policies with a preview, tokens.',
  autoStart: true,
  requires: [IModelVault],
  optional: [ICommandPalette, ILayoutRestorer, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    vault: IModelVault,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('modelvault_jlab');
    const tracker = new WidgetTracker<MainAreaWidget<AdminPanel>>({
      namespace: 'modelvault-admin'
    });
    const allowed = () => isAdmin(vault.serverStatus);

    app.commands.addCommand(OPEN_ADMIN, {
      label: trans.__('ModelVault Administration'),
      caption: trans.__(
        'Create and configure repositories, edit global policies with a preview, revoke tokens'
      ),
      icon: args => (args['isPalette'] ? undefined : vaultIcon),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            tab: {
              type: 'string',
              enum: ['repositories', 'policies', 'tokens']
            }
          }
        }
      },
      isEnabled: allowed,
      isVisible: allowed,
      execute: async args => {
        const tab = (args['tab'] as AdminTab | undefined) ?? undefined;
        return showMainAreaPage(
          app,
          tracker,
          'modelvault-admin',
          async () => {
            const [{ AdminPanel }, { AdminClient }] = await Promise.all([
              import('./AdminPanel'),
              import('../../api/admin')
            ]);
            const content = new AdminPanel({
              client: new AdminClient(app.serviceManager.serverSettings),
              trans,
              tab
            });
            return mainAreaPage(
              content,
              trans.__('ModelVault Admin'),
              vaultIcon
            );
          },
          open => {
            if (tab) {
              open.content.tab = tab;
            }
          }
        );
      }
    });
    vault.serverStatusChanged.connect(() =>
      app.commands.notifyCommandChanged(OPEN_ADMIN)
    );
    palette?.addItem({ command: OPEN_ADMIN, category: trans.__('ModelVault') });
    if (restorer) {
      // Restored only once the handshake says the user is an admin.
      void restorer.restore(tracker, {
        command: OPEN_ADMIN,
        args: widget => ({ tab: widget.content.tab }),
        name: () => 'admin',
        when: new Promise<void>(resolve => {
          if (vault.serverStatus.state !== 'unknown') {
            resolve();
            return;
          }
          const once = () => {
            vault.serverStatusChanged.disconnect(once);
            resolve();
          };
          vault.serverStatusChanged.connect(once);
        })
      });
    }
  }
};
