import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { addInsertCommand } from './insert';

/**
 * Insertion of ModelVault snippets (Set Me Up, download snippets of the model
 * page) into the active notebook.
 */
export const notebookInsertPlugin: JupyterFrontEndPlugin<void> = {
  id: 'modelvault-jlab:notebook-insert',
  description:
    'Inserts ModelVault snippets as code cells into the active notebook.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    translator: ITranslator | null
  ): void => {
    addInsertCommand(app.commands, {
      tracker,
      shell: app.shell,
      trans: (translator ?? nullTranslator).load('modelvault_jlab')
    });
  }
};
