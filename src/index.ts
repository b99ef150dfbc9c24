import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

// The sidebar's views execute the action commands as soon as it renders.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { addActionCommands } from './actions/commands';
import { VaultClient } from './api/client';
import { addCommands } from './commands';
import { serverStatusMessage } from './components/ServerStatusBanner';
import { vaultIcon } from './icons';
// Activation needs the model (server handshake) and the sidebar at once.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { VaultModel } from './models/VaultModel';
import { dashboardPlugin } from './pages/dashboard/plugin';
import { SHOW_ACTIVITY, statusPlugin } from './pages/status/plugin';
import { modelPagePlugin } from './pages/model/plugin';
import { notebookInsertPlugin } from './notebook/plugin';
import { adminPlugin } from './pages/admin/plugin';
import { CommandIDs, IModelVault, ModelVault } from './tokens';
import { version } from './version';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { VaultSidebar } from './sidebar/VaultSidebar';

export { VaultClient } from './api/client';
export { VaultResponseError } from './api/request';
export { CommandIDs, IModelVault } from './tokens';
export type { ModelVault } from './tokens';

/**
 * The id of the core plugin; its settings schema is `schema/plugin.json`.
 */
const PLUGIN_ID = 'modelvault-jlab:plugin';

/**
 * The id of the sidebar panel (also its layout restorer key).
 */
const SIDEBAR_ID = 'modelvault-sidebar';

/**
 * The core plugin: server handshake, sidebar and commands; provides `IModelVault`.
 */
const plugin: JupyterFrontEndPlugin<IModelVault> = {
  id: PLUGIN_ID,
  description:
    'ModelVault sidebar: checks the server extension and lists the repositories of the vault.',
  autoStart: true,
  provides: IModelVault,
  optional: [ICommandPalette, ILayoutRestorer, ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ): IModelVault => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('modelvault_jlab');

    const model = new VaultModel({
      client: new VaultClient({
        serverSettings: app.serviceManager.serverSettings
      }),
      frontendVersion: version
    });

    const sidebar = new VaultSidebar({
      model,
      commands: app.commands,
      translator
    });
    sidebar.id = SIDEBAR_ID;
    sidebar.title.icon = vaultIcon;
    sidebar.title.caption = trans.__('ModelVault');
    app.shell.add(sidebar, 'left', { rank: 900, type: 'ModelVault' });
    restorer?.add(sidebar, SIDEBAR_ID);

    addCommands(app.commands, {
      model,
      trans,
      sidebar: {
        show: section => {
          app.shell.activateById(SIDEBAR_ID);
          if (section) {
            sidebar.showSection(section);
          }
        },
        focusSearch: () => {
          app.shell.activateById(SIDEBAR_ID);
          sidebar.focusSearch();
        },
        createBundle: () => {
          app.shell.activateById(SIDEBAR_ID);
          sidebar.openBundleWizard();
        },
        canRescan: () => model.isAdmin && !!model.browser.file?.verdict,
        rescan: async () => {
          app.shell.activateById(SIDEBAR_ID);
          sidebar.showSection('verdicts');
          await model.browser.rescan();
        }
      }
    });
    addActionCommands(app.commands, { model, trans });
    // Hook for the status-bar item (src/pages/status): show the Activity section.
    app.commands.addCommand(SHOW_ACTIVITY, {
      label: trans.__('Show ModelVault Activity'),
      caption: trans.__('Show the transfers and exports in progress'),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => {
        app.shell.activateById(SIDEBAR_ID);
        sidebar.showSection('activity');
      }
    });
    for (const command of [
      CommandIDs.refresh,
      CommandIDs.open,
      CommandIDs.searchRepositories,
      CommandIDs.showViolations,
      CommandIDs.showSetMeUp,
      CommandIDs.showBundles,
      CommandIDs.createBundle,
      CommandIDs.rescan
    ]) {
      palette?.addItem({ command, category: trans.__('ModelVault') });
    }

    if (settingRegistry) {
      void Private.applySettings(settingRegistry, model);
    }

    model.serverStatusChanged.connect((_, status) =>
      Private.notify(status, trans)
    );
    void model.checkServer();

    return model;
  }
};

export default [
  plugin,
  dashboardPlugin,
  statusPlugin,
  modelPagePlugin,
  notebookInsertPlugin,
  adminPlugin
];

/**
 * Module internals.
 */
namespace Private {
  /**
   * Load the plugin settings and keep the model in sync with them.
   */
  export async function applySettings(
    registry: ISettingRegistry,
    model: VaultModel
  ): Promise<void> {
    try {
      const settings = await registry.load(PLUGIN_ID);
      const apply = () => {
        const seconds = settings.composite['refreshInterval'];
        if (typeof seconds === 'number') {
          model.refreshInterval = seconds * 1000;
        }
      };
      apply();
      settings.changed.connect(apply);
    } catch (reason) {
      console.error(`Failed to load the settings of ${PLUGIN_ID}.`, reason);
    }
  }

  /**
   * Tell the user about a handshake problem, once per change of status.
   */
  export function notify(
    status: ModelVault.ServerStatus,
    trans: TranslationBundle
  ): void {
    const message = serverStatusMessage(status, trans);
    if (!message) {
      return;
    }
    if (status.state === 'error') {
      console.error(message);
      Notification.error(message, { autoClose: false });
    } else {
      console.warn(message);
      Notification.warning(message, { autoClose: false });
    }
  }
}
