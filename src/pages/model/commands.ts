import { INSERT_SNIPPET } from '../../notebook/insert';

/**
 * Commands of the model page.
 */
export namespace ModelPageCommandIDs {
  /**
   * Open the page of a repo (args `repository`, `repoId`, `repoType`; asks when missing).
   */
  export const open = 'modelvault:open-model-page';
  /**
   * Insert code (arg `code`) as a cell below the active cell of the active notebook.
   */
  export const insertSnippet = INSERT_SNIPPET;
}
