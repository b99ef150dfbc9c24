import type { ILabShell, JupyterFrontEnd } from '@jupyterlab/application';
import { ISignal, Signal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';

/**
 * The part of a notebook panel the snippet insertion uses.
 *
 * #### Notes
 * Structural on purpose: `@jupyterlab/notebook` (and its `INotebookTracker`)
 * is not a dependency of this extension yet; the insertion goes through the
 * notebook's own `notebook:insert-cell-below` command, so the cell is created
 * exactly as a user's Ctrl+B would create it.
 */
interface INotebookPanelLike extends Widget {
  content: {
    activeCell: {
      model: { sharedModel: { setSource(s: string): void } };
    } | null;
  };
  sessionContext: unknown;
}

function isNotebookPanel(widget: Widget | null): widget is INotebookPanelLike {
  const candidate = widget as Partial<INotebookPanelLike> | null;
  return (
    !!candidate &&
    !!candidate.sessionContext &&
    !!candidate.content &&
    'activeCell' in candidate.content
  );
}

/**
 * The notebook the user last worked in (the model page itself takes focus, so
 * "the active notebook" is the last notebook that was current).
 */
export class ActiveNotebook {
  constructor(app: JupyterFrontEnd, labShell: ILabShell | null) {
    this._app = app;
    labShell?.currentChanged.connect((_, change) => {
      if (isNotebookPanel(change.newValue)) {
        this._set(change.newValue);
      }
    });
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Whether a notebook is open to insert into.
   */
  get available(): boolean {
    return !!this._panel && !this._panel.isDisposed;
  }

  /**
   * Insert `code` as a new cell below the active cell and show the notebook.
   */
  async insertBelow(code: string): Promise<void> {
    const panel = this._panel;
    if (!panel || panel.isDisposed) {
      throw new Error('No notebook is open.');
    }
    this._app.shell.activateById(panel.id);
    await this._app.commands.execute('notebook:insert-cell-below');
    await this._app.commands.execute('notebook:change-cell-to-code');
    const cell = panel.content.activeCell;
    if (!cell) {
      throw new Error('The notebook has no active cell.');
    }
    cell.model.sharedModel.setSource(code);
  }

  private _set(panel: INotebookPanelLike): void {
    if (panel === this._panel) {
      return;
    }
    this._panel = panel;
    panel.disposed.connect(() => {
      if (this._panel === panel) {
        this._panel = null;
        this._changed.emit();
      }
    });
    this._changed.emit();
  }

  private _app: JupyterFrontEnd;
  private _panel: INotebookPanelLike | null = null;
  private _changed = new Signal<this, void>(this);
}
