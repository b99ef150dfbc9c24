import { Clipboard, Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import type {
  ReadonlyJSONObject,
  ReadonlyPartialJSONObject
} from '@lumino/coreutils';
import { DisposableSet, IDisposable } from '@lumino/disposable';

import type { VaultModel } from '../models/VaultModel';
import { CommandIDs, ModelVault } from '../tokens';
import { Confirm } from '../dialogs/confirm';
import { reportingFailures, throwIfFailed } from './report';

/**
 * Options of `addActionCommands`.
 */
export interface IAddActionCommandsOptions {
  /**
   * The model the actions act on.
   */
  model: VaultModel;
  /**
   * The translation bundle.
   */
  trans: TranslationBundle;
}

/**
 * Register the actions of the sidebar's views as commands (ids in `CommandIDs`).
 *
 * Every action runs through `reportingFailures`: a failure becomes one error
 * notification with the server's message. The waiver and bundle forms stay
 * open on a failure, so those two commands also reject with the error.
 *
 * @returns A disposable that removes the commands.
 */
export function addActionCommands(
  commands: CommandRegistry,
  options: IAddActionCommandsOptions
): IDisposable {
  const { model, trans } = options;
  const { browser, bundles, setMeUp, violations } = model;
  const disposables = new DisposableSet();
  // `args`: the JSON schema of the arguments, beyond `type: 'object'`.
  const add = <A>(
    id: string,
    label: string,
    args: ReadonlyJSONObject,
    action: (args: A) => Promise<unknown>,
    rethrow = false
  ): void => {
    const execute = reportingFailures(trans, action, { rethrow });
    disposables.add(
      commands.addCommand(id, {
        label,
        describedBy: { args: { type: 'object', ...args } },
        execute: args => execute(args as A)
      })
    );
  };
  const string = { type: 'string' } as const;

  add<{ repository: string }>(
    CommandIDs.openRepository,
    trans.__('Open ModelVault Repository'),
    { properties: { repository: string }, required: ['repository'] },
    async ({ repository }) => {
      await browser.openRepository(repository);
      throwIfFailed(browser.hubRepos.error);
    }
  );
  add<Private.IHubRepoArgs>(
    CommandIDs.openHubRepo,
    trans.__('Open Hub Repo'),
    {
      properties: { repository: string, repoType: string, repoId: string },
      required: ['repository', 'repoType', 'repoId']
    },
    async ({ repository, repoType, repoId, revision }) => {
      if (repository !== browser.repository) {
        await browser.openRepository(repository);
      }
      await browser.openRepo(repoType, repoId, revision);
      throwIfFailed(browser.files.error);
    }
  );
  add(
    CommandIDs.loadMoreHubRepos,
    trans.__('Load More Hub Repos'),
    {},
    async () => {
      await browser.loadMoreHubRepos();
      throwIfFailed(browser.hubRepos.error);
    }
  );
  add(CommandIDs.loadMoreFiles, trans.__('Load More Files'), {}, async () => {
    await browser.loadMoreFiles();
    throwIfFailed(browser.files.error);
  });

  add<ModelVault.IWaiverRequest>(
    CommandIDs.grantWaiver,
    trans.__('Grant Waiver'),
    { properties: { policy: string, justification: string } },
    async request => {
      await violations.grantWaiver(request);
      Notification.success(
        trans.__('Waiver granted for policy "%1".', request.policy),
        { autoClose: 3000 }
      );
    },
    true
  );
  add<{ id: number }>(
    CommandIDs.revokeWaiver,
    trans.__('Revoke Waiver'),
    { properties: { id: { type: 'number' } }, required: ['id'] },
    async ({ id }) => {
      const waiver = violations.waivers.find(w => w.id === id);
      if (!(await Confirm.waiverRevocation(trans, id, waiver?.policy))) {
        return; // irreversible: asked first, Cancel is the default
      }
      await violations.revokeWaiver(id);
      Notification.info(trans.__('Waiver %1 revoked.', id), {
        autoClose: 3000
      });
    }
  );

  add<Private.IMintArgs>(
    CommandIDs.mintToken,
    trans.__('Mint Token'),
    {
      properties: {
        scope: { enum: ['read', 'write'] },
        expiresInSeconds: { type: 'number' },
        repository: string
      },
      required: ['scope', 'expiresInSeconds', 'repository']
    },
    ({ scope, expiresInSeconds, repository }) =>
      setMeUp.mintToken(scope, expiresInSeconds, repository)
  );
  add<{ text: string; what: string }>(
    CommandIDs.copy,
    trans.__('Copy'),
    { properties: { text: string, what: string }, required: ['text', 'what'] },
    async ({ text, what }) => {
      Clipboard.copyToSystem(text);
      Notification.info(trans.__('Copied %1', what), { autoClose: 3000 });
    }
  );

  add<ModelVault.IBundleCreateRequest>(
    CommandIDs.submitBundle,
    trans.__('Create Bundle'),
    { properties: { name: string, version: string }, required: ['name'] },
    async request => {
      const created = await bundles.create(request);
      Notification.success(
        trans.__('Bundle %1 %2 created.', created.name, created.version),
        { autoClose: 3000 }
      );
    },
    true
  );
  add(CommandIDs.verifyBundle, trans.__('Verify Bundle'), {}, () =>
    bundles.verify()
  );
  add(CommandIDs.promoteBundle, trans.__('Promote Bundle'), {}, async () => {
    const { detail: current, nextEnvironment } = bundles;
    if (
      !current ||
      !nextEnvironment ||
      !(await Confirm.promotion(
        trans,
        current.name,
        current.version,
        nextEnvironment
      ))
    ) {
      return; // a signed promotion cannot be undone: asked first
    }
    const detail = await bundles.promote();
    Notification.success(
      trans.__(
        'Bundle %1 %2 promoted to %3.',
        detail.name,
        detail.version,
        detail.environment ?? ''
      ),
      { autoClose: 3000 }
    );
  });
  add<{ what: 'archive' | 'bom' }>(
    CommandIDs.downloadBundle,
    trans.__('Download Bundle'),
    { properties: { what: { enum: ['archive', 'bom'] } }, required: ['what'] },
    async ({ what }) => {
      const { blob, filename } = await bundles.download(what);
      Private.save(blob, filename);
    }
  );

  return disposables;
}

/**
 * Execute an action command with arguments typed by the caller (command
 * arguments are JSON objects; the wire types are JSON too).
 */
export function executeAction<A extends object>(
  commands: CommandRegistry,
  id: string,
  args?: A
): Promise<unknown> {
  return commands.execute(id, args as ReadonlyPartialJSONObject | undefined);
}

/**
 * Module internals.
 */
namespace Private {
  /**
   * Arguments of `CommandIDs.openHubRepo`.
   */
  export interface IHubRepoArgs {
    repository: string;
    repoType: string;
    repoId: string;
    revision?: string;
  }

  /**
   * Arguments of `CommandIDs.mintToken`.
   */
  export interface IMintArgs {
    scope: 'read' | 'write';
    expiresInSeconds: number;
    repository: string;
  }

  /**
   * Save a fetched file. The download needs the Jupyter token
   * (ServerConnection), which a plain link cannot carry: save the blob
   * through an object URL.
   */
  export function save(blob: Blob, filename: string): void {
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
}
