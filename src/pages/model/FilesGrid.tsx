import * as React from 'react';

/**
 * A column of a `FilesGrid`.
 */
export interface IGridColumn<T> {
  id: string;
  title: string;
  /**
   * CSS grid track of the column (e.g. `minmax(12em, 3fr)`).
   */
  width: string;
  render: (item: T, index: number) => React.ReactNode;
}

/**
 * Properties of `FilesGrid`.
 */
export interface IFilesGridProps<T> {
  items: ReadonlyArray<T>;
  columns: ReadonlyArray<IGridColumn<T>>;
  keyOf: (item: T) => string;
  label: string;
  /**
   * Row height in pixels (every row has the same height).
   */
  rowHeight: number;
  /**
   * Height of the scrolling viewport in pixels.
   */
  height: number;
  /**
   * Id prefix of the cells (for `aria-activedescendant`).
   */
  idPrefix: string;
  /**
   * Called once the rows of new `items` are on screen.
   */
  onPainted?: () => void;
}

const OVERSCAN = 10;

/**
 * An ARIA grid that renders only the rows in view: 10,000 rows cost what 40 do.
 *
 * The grid is one tab stop; the active cell is announced through
 * `aria-activedescendant`. Arrow keys move between cells, PageUp/PageDown by a
 * screenful, Home/End to the first/last cell of the row, Ctrl+Home/End to the
 * first/last row. Enter or F2 moves focus into the active cell's controls (its
 * buttons); Escape brings it back to the grid.
 */
export function FilesGrid<T>(props: IFilesGridProps<T>): JSX.Element {
  const { items, columns, rowHeight, height, idPrefix, onPainted } = props;
  const [scrollTop, setScrollTop] = React.useState(0);
  const [row, setRow] = React.useState(0);
  const [col, setCol] = React.useState(0);
  const viewport = React.useRef<HTMLDivElement>(null);
  const grid = React.useRef<HTMLDivElement>(null);

  React.useEffect(() => {
    if (!onPainted) {
      return;
    }
    const frame = requestAnimationFrame(() => onPainted());
    return () => cancelAnimationFrame(frame);
  }, [items]);

  const activeRow = Math.min(row, Math.max(items.length - 1, 0));
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(
    items.length,
    Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN
  );
  const template = columns.map(c => c.width).join(' ');
  const cellId = (r: number, c: number) => `${idPrefix}-r${r}-c${c}`;

  const reveal = (index: number) => {
    const node = viewport.current;
    if (!node) {
      return;
    }
    const top = index * rowHeight;
    if (top < node.scrollTop) {
      node.scrollTop = top;
    } else if (top + rowHeight > node.scrollTop + node.clientHeight) {
      node.scrollTop = top + rowHeight - node.clientHeight;
    }
  };

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.target !== grid.current) {
      if (event.key === 'Escape') {
        event.preventDefault();
        grid.current?.focus();
      }
      return;
    }
    if (items.length === 0) {
      return;
    }
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    let nextRow = activeRow;
    let nextCol = col;
    switch (event.key) {
      case 'ArrowDown':
        nextRow++;
        break;
      case 'ArrowUp':
        nextRow--;
        break;
      case 'ArrowRight':
        nextCol++;
        break;
      case 'ArrowLeft':
        nextCol--;
        break;
      case 'PageDown':
        nextRow += page;
        break;
      case 'PageUp':
        nextRow -= page;
        break;
      case 'Home':
        if (event.ctrlKey) {
          nextRow = 0;
        }
        nextCol = 0;
        break;
      case 'End':
        if (event.ctrlKey) {
          nextRow = items.length - 1;
        }
        nextCol = columns.length - 1;
        break;
      case 'Enter':
      case 'F2': {
        const control = document
          .getElementById(cellId(activeRow, col))
          ?.querySelector<HTMLElement>('button, a, input, select');
        if (control) {
          event.preventDefault();
          control.focus();
        }
        return;
      }
      default:
        return;
    }
    event.preventDefault();
    nextRow = Math.max(0, Math.min(items.length - 1, nextRow));
    nextCol = Math.max(0, Math.min(columns.length - 1, nextCol));
    setRow(nextRow);
    setCol(nextCol);
    reveal(nextRow);
  };

  const rows: React.ReactNode[] = [];
  for (let index = first; index < last; index++) {
    const item = items[index];
    const active = index === activeRow;
    rows.push(
      <div
        key={props.keyOf(item)}
        role="row"
        aria-rowindex={index + 2}
        aria-selected={active}
        className={`jp-ModelVault-Grid-row${active ? ' jp-mod-active' : ''}`}
        style={{
          top: index * rowHeight,
          height: rowHeight,
          gridTemplateColumns: template
        }}
        onClick={() => setRow(index)}
      >
        {columns.map((column, c) => (
          <div
            key={column.id}
            id={cellId(index, c)}
            role="gridcell"
            aria-colindex={c + 1}
            className={`jp-ModelVault-Grid-cell${
              active && c === col ? ' jp-mod-active' : ''
            }`}
            onClick={() => setCol(c)}
          >
            {column.render(item, index)}
          </div>
        ))}
      </div>
    );
  }

  return (
    <div
      ref={grid}
      className="jp-ModelVault-Grid"
      role="grid"
      tabIndex={0}
      aria-label={props.label}
      aria-rowcount={items.length + 1}
      aria-colcount={columns.length}
      aria-activedescendant={
        items.length > 0 ? cellId(activeRow, col) : undefined
      }
      onKeyDown={onKeyDown}
    >
      <div
        role="row"
        aria-rowindex={1}
        className="jp-ModelVault-Grid-header"
        style={{ gridTemplateColumns: template }}
      >
        {columns.map((column, c) => (
          <div
            key={column.id}
            role="columnheader"
            aria-colindex={c + 1}
            className="jp-ModelVault-Grid-cell"
          >
            {column.title}
          </div>
        ))}
      </div>
      <div
        ref={viewport}
        className="jp-ModelVault-Grid-viewport"
        role="rowgroup"
        style={{ height: Math.min(height, items.length * rowHeight + 2) }}
        onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
      >
        <div
          className="jp-ModelVault-Grid-inner"
          style={{ height: items.length * rowHeight }}
        >
          {rows}
        </div>
      </div>
    </div>
  );
}
