import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Clipboard,
  ICommandPalette,
  InputDialog,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';

import { VaultClient } from '../../api/client';
import { Confirm } from '../../dialogs/confirm';
import { snippetsFor } from '../../snippets';
import { IModelVault } from '../../tokens';
import { showMainAreaPage } from '../mainArea';
import { ModelPageCommandIDs } from './commands';
import { ModelPage } from './ModelPage';
import { IModelPageArgs, ModelPageModel } from './ModelPageModel';
import { IModelPageActions } from './ModelPageView';
import { downloadSnippet } from './shaping';

/**
 * Hash of the links that `%modelvault` output carries:
 * `#modelvault-page/<repository>/<type>/<repo id>`.
 */
export const PAGE_LINK_PREFIX = '#modelvault-page/';

/**
 * The model page plugin: main-area pages of Hub repos and PyPI projects.
 */
export { ModelPageCommandIDs };

export const modelPagePlugin: JupyterFrontEndPlugin<void> = {
  id: 'modelvault-jlab:model-page',
  description:
    'ModelVault model page: card, revisions, files, policy and lineage of a repo in the main area.',
  autoStart: true,
  requires: [IModelVault, IRenderMimeRegistry],
  optional: [ICommandPalette, ILayoutRestorer, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    vault: IModelVault,
    rendermime: IRenderMimeRegistry,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('modelvault_jlab');
    const client = new VaultClient({
      serverSettings: app.serviceManager.serverSettings
    });
    const tracker = new WidgetTracker<ModelPage>({
      namespace: 'modelvault-model-page'
    });

    const repositoryOf = (key: string) =>
      vault.repositories.items.find(r => r.key === key) ?? null;

    const insert = (code: string) =>
      void app.commands.execute(ModelPageCommandIDs.insertSnippet, { code });
    const canInsert = () =>
      app.commands.hasCommand(ModelPageCommandIDs.insertSnippet) &&
      app.commands.isEnabled(ModelPageCommandIDs.insertSnippet, { code: '' });

    const actionsFor = (model: ModelPageModel): IModelPageActions => ({
      copy: text => {
        Clipboard.copyToSystem(text);
        Notification.info(trans.__('Copied to the clipboard.'), {
          autoClose: 2000
        });
      },
      insert,
      canInsert,
      waive: async (row, policy) => {
        const answer = await InputDialog.getText({
          title: trans.__('Waive "%1" for %2', policy, row.file.path),
          label: trans.__('Justification (at least 5 characters, 30 days)'),
          okLabel: trans.__('Grant waiver')
        });
        if (!answer.button.accept || (answer.value ?? '').trim().length < 5) {
          return;
        }
        try {
          await model.waive(row.file, policy, answer.value!.trim(), 30 * 86400);
        } catch (error) {
          Notification.error((error as Error).message);
        }
      },
      revoke: async waiver => {
        if (
          !(await Confirm.waiverRevocation(trans, waiver.id, waiver.policy))
        ) {
          return;
        }
        try {
          await model.revokeWaiver(waiver.id);
        } catch (error) {
          Notification.error((error as Error).message);
        }
      },
      snippetOf: path =>
        downloadSnippet(
          repositoryOf(model.args.repository)?.hub_endpoint ?? '<HF_ENDPOINT>',
          model.args.repoType,
          model.args.repoId,
          model.overview?.commit ?? model.revision ?? 'main',
          path
        ),
      setMeUp: () => {
        const repository = repositoryOf(model.args.repository);
        const snippets = repository ? snippetsFor(repository, null) : [];
        const python = snippets.find(
          s => s.id === (model.isPackage ? 'pip' : 'huggingface_hub')
        );
        if (!python) {
          return `# Repository ${model.args.repository} is not known to this vault.`;
        }
        return model.isPackage
          ? `%pip install --index-url ${python.code.split('--index-url ')[1].split(' ')[0]} ${model.args.repoId}`
          : python.code.replace(/org\/model/g, model.args.repoId);
      }
    });

    const open = (args: IModelPageArgs): Promise<ModelPage> =>
      showMainAreaPage(app, tracker, ModelPage.idOf(args), () => {
        const model = new ModelPageModel({ args, client });
        const page = new ModelPage({
          model,
          rendermime,
          actions: actionsFor(model),
          trans
        });
        const follow = (
          _: unknown,
          change: CommandRegistry.ICommandChangedArgs
        ) => {
          if (change.id === ModelPageCommandIDs.insertSnippet) {
            page.content.update();
          }
        };
        app.commands.commandChanged.connect(follow, page);
        void model.load();
        return page;
      });

    app.commands.addCommand(ModelPageCommandIDs.open, {
      label: args =>
        args.repoId
          ? trans.__('Open ModelVault Page of %1', String(args.repoId))
          : trans.__('Open ModelVault Model Page…'),
      caption: trans.__(
        'Show the card, files, policy decision and lineage of a repo'
      ),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            repository: { type: 'string' },
            repoId: { type: 'string' },
            repoType: {
              type: 'string',
              enum: ['model', 'dataset', 'space', 'package']
            }
          }
        }
      },
      execute: async args => {
        let repository = args.repository as string | undefined;
        let repoId = args.repoId as string | undefined;
        let repoType = args.repoType as string | undefined;
        if (!repository) {
          if (!vault.repositories.isLoaded) {
            await vault.refresh(); // the sidebar may not have loaded them yet
          }
          const keys = vault.repositories.items
            .filter(r => r.kind.startsWith('hf-') || r.kind.startsWith('pypi'))
            .map(r => r.key);
          const answer = await InputDialog.getItem({
            title: trans.__('Open a model page: repository'),
            items: keys
          });
          if (!answer.button.accept || !answer.value) {
            return;
          }
          repository = answer.value;
        }
        if (!repoId) {
          const isPypi = repositoryOf(repository)?.kind.startsWith('pypi');
          const answer = await InputDialog.getText({
            title: isPypi
              ? trans.__('Open a model page: project name')
              : trans.__('Open a model page: repo id (namespace/name)'),
            placeholder: isPypi ? 'requests' : 'acme/bert-tiny'
          });
          if (!answer.button.accept || !answer.value?.trim()) {
            return;
          }
          repoId = answer.value.trim();
        }
        if (!repoType) {
          repoType = repositoryOf(repository)?.kind.startsWith('pypi')
            ? 'package'
            : 'model';
        }
        return open({ repository, repoId, repoType });
      }
    });

    palette?.addItem({
      command: ModelPageCommandIDs.open,
      category: trans.__('ModelVault')
    });

    if (restorer) {
      void restorer.restore(tracker, {
        command: ModelPageCommandIDs.open,
        args: page => ({ ...page.content.model.args }),
        name: page => page.id
      });
    }

    // Links in `%modelvault` output (plain anchors: output HTML runs no script).
    document.addEventListener('click', event => {
      const target = event.target as HTMLElement | null;
      const anchor = target?.closest?.('a');
      const href = anchor?.getAttribute('href') ?? '';
      if (!href.startsWith(PAGE_LINK_PREFIX)) {
        return;
      }
      const parts = href.slice(PAGE_LINK_PREFIX.length).split('/');
      if (parts.length < 3) {
        return;
      }
      event.preventDefault();
      const [repository, repoType, ...rest] = parts.map(decodeURIComponent);
      void app.commands.execute(ModelPageCommandIDs.open, {
        repository,
        repoType,
        repoId: rest.join('/')
      });
    });
  }
};
