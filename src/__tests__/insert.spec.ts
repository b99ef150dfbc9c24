import { Notification } from '@jupyterlab/apputils';
import { NotebookModel } from '@jupyterlab/notebook';
import { NBTestUtils } from '@jupyterlab/notebook/lib/testutils';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Signal } from '@lumino/signaling';

import { addInsertCommand, INSERT_SNIPPET } from '../notebook/insert';

/**
 * A real notebook widget with two markdown cells, the first one active.
 */
function notebookWithCells() {
  const notebook = NBTestUtils.createNotebook();
  const model = new NotebookModel();
  model.sharedModel.insertCells(0, [
    { cell_type: 'markdown', source: '# one' },
    { cell_type: 'markdown', source: '# two' }
  ]);
  notebook.model = model;
  notebook.activeCellIndex = 0;
  return notebook;
}

function setUp(panel: { id: string; content: unknown } | null) {
  const commands = new CommandRegistry();
  const currentChanged = new Signal<unknown, unknown>({});
  const tracker = { currentWidget: panel, currentChanged };
  const shell = { activateById: jest.fn() };
  addInsertCommand(commands, {
    tracker: tracker as any,
    shell,
    trans: nullTranslator.load('modelvault_jlab')
  });
  return { commands, tracker, currentChanged, shell };
}

describe('modelvault:insert-snippet', () => {
  let errors: jest.SpyInstance;
  beforeEach(() => {
    errors = jest.spyOn(Notification, 'error').mockImplementation(() => '');
  });
  afterEach(() => errors.mockRestore());

  it('inserts the code as a code cell below the active cell and shows the notebook', async () => {
    const notebook = notebookWithCells();
    const { commands, shell } = setUp({ id: 'nb-1', content: notebook });
    expect(commands.isEnabled(INSERT_SNIPPET, { code: '' })).toBe(true);

    const code = 'from huggingface_hub import hf_hub_download';
    await expect(commands.execute(INSERT_SNIPPET, { code })).resolves.toBe(
      true
    );

    const cells = notebook.model!.sharedModel.cells;
    expect(cells.map(c => c.cell_type)).toEqual([
      'markdown',
      'code',
      'markdown'
    ]);
    expect(cells[1].getSource()).toBe(code);
    expect(notebook.activeCellIndex).toBe(1);
    expect(shell.activateById).toHaveBeenCalledWith('nb-1');
    expect(errors).not.toHaveBeenCalled();
    notebook.dispose();
  });

  it('is disabled without a notebook and says so when run anyway', async () => {
    const { commands, shell } = setUp(null);
    expect(commands.isEnabled(INSERT_SNIPPET, { code: '' })).toBe(false);
    await expect(
      commands.execute(INSERT_SNIPPET, { code: 'x = 1' })
    ).resolves.toBe(false);
    expect(errors).toHaveBeenCalledWith(
      expect.stringContaining('No notebook is open')
    );
    expect(shell.activateById).not.toHaveBeenCalled();
  });

  it('inserts nothing for empty code', async () => {
    const notebook = notebookWithCells();
    const { commands } = setUp({ id: 'nb-2', content: notebook });
    await expect(commands.execute(INSERT_SNIPPET, { code: '' })).resolves.toBe(
      false
    );
    expect(notebook.model!.sharedModel.cells.length).toBe(2);
    notebook.dispose();
  });

  it('tells views to re-check when the current notebook changes', () => {
    const { commands, tracker, currentChanged } = setUp(null);
    const changed: string[] = [];
    commands.commandChanged.connect((_, args) => changed.push(args.id!));
    tracker.currentWidget = { id: 'nb-3', content: notebookWithCells() };
    currentChanged.emit(tracker.currentWidget);
    expect(changed).toContain(INSERT_SNIPPET);
    expect(commands.isEnabled(INSERT_SNIPPET, { code: '' })).toBe(true);
  });
});
