import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import {
  INotebookTracker,
  Notebook,
  NotebookActions
} from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';

/**
 * The command that inserts code (arg `code`) as a new code cell below the
 * active cell of the active notebook.
 */
export const INSERT_SNIPPET = 'modelvault:insert-snippet';

/**
 * Insert `code` as a new code cell below `notebook`'s active cell (at the end
 * when no cell is active) and make it the active cell.
 */
export function insertCodeBelow(notebook: Notebook, code: string): void {
  if (!notebook.model) {
    throw new Error('The notebook has no model yet.');
  }
  NotebookActions.insertBelow(notebook);
  NotebookActions.changeCellType(notebook, 'code');
  const cell = notebook.activeCell;
  if (!cell) {
    throw new Error('The notebook has no active cell.');
  }
  cell.model.sharedModel.setSource(code);
}

/**
 * What the insert command needs: the notebook tracker (its current widget is
 * the notebook the user last worked in, even while a ModelVault page has the
 * focus) and the shell to show that notebook.
 */
export interface IInsertOptions {
  tracker: Pick<INotebookTracker, 'currentWidget' | 'currentChanged'>;
  shell: Pick<JupyterFrontEnd.IShell, 'activateById'>;
  trans: TranslationBundle;
}

/**
 * Add {@link INSERT_SNIPPET}: enabled while a notebook is open; an error (no
 * notebook, no model) is a notification, never an uncaught rejection. The
 * command's result says whether the code was inserted.
 */
export function addInsertCommand(
  commands: CommandRegistry,
  options: IInsertOptions
): void {
  const { tracker, shell, trans } = options;
  commands.addCommand(INSERT_SNIPPET, {
    label: trans.__('Insert Code Into the Active Notebook'),
    caption: trans.__(
      'Insert the snippet as a new code cell below the active cell of the notebook you last worked in'
    ),
    describedBy: {
      args: {
        type: 'object',
        properties: { code: { type: 'string' } },
        required: ['code']
      }
    },
    isEnabled: () => !!tracker.currentWidget,
    execute: args => {
      const panel = tracker.currentWidget;
      const code = typeof args.code === 'string' ? args.code : '';
      try {
        if (!panel) {
          throw new Error(trans.__('No notebook is open.'));
        }
        if (!code) {
          throw new Error(trans.__('There is no code to insert.'));
        }
        shell.activateById(panel.id);
        insertCodeBelow(panel.content, code);
        return true;
      } catch (error) {
        Notification.error(
          trans.__('Could not insert the snippet: %1', (error as Error).message)
        );
        return false;
      }
    }
  });
  // Views that offer "Insert" follow the command's enabled state.
  tracker.currentChanged.connect(() =>
    commands.notifyCommandChanged(INSERT_SNIPPET)
  );
}
