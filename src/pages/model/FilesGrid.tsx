import * as React from 'react';

import {
  rowIndexOf,
  useRowWindow,
  verticalStep
} from '../../components/VirtualList';

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

interface IGridRowProps<T> {
  item: T;
  index: number;
  columns: ReadonlyArray<IGridColumn<T>>;
  /**
   * The active column if this is the active row, else -1.
   */
  activeCol: number;
  transform: string;
  rowHeight: number;
  idPrefix: string;
}

function cellId(idPrefix: string, row: number, col: number): string {
  return `${idPrefix}-r${row}-c${col}`;
}

/**
 * One row of a `FilesGrid`: rendered again only when its item, index or
 * active cell changes (not on every scroll step).
 */
const GridRow = React.memo(function GridRow<T>(
  props: IGridRowProps<T>
): JSX.Element {
  const { item, index, activeCol } = props;
  const active = activeCol >= 0;
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      aria-selected={active}
      data-index={index}
      className={`jp-ModelVault-Grid-row${active ? ' jp-mod-active' : ''}`}
      style={{ height: props.rowHeight, transform: props.transform }}
    >
      {props.columns.map((column, c) => (
        <div
          key={column.id}
          id={cellId(props.idPrefix, index, c)}
          role="gridcell"
          aria-colindex={c + 1}
          data-col={c}
          className={`jp-ModelVault-Grid-cell${
            c === activeCol ? ' jp-mod-active' : ''
          }`}
        >
          {column.render(item, index)}
        </div>
      ))}
    </div>
  );
}) as <T>(props: IGridRowProps<T>) => JSX.Element;

/**
 * An ARIA grid that renders only the rows in view (windowing of
 * `useRowWindow`): 10,000 rows cost what 40 do.
 *
 * The grid is one tab stop; the active cell is announced through
 * `aria-activedescendant`. Arrow keys move between cells, PageUp/PageDown by a
 * screenful, Home/End to the first/last cell of the row, Ctrl+Home/End to the
 * first/last row. Enter or F2 moves focus into the active cell's controls (its
 * buttons); Escape brings it back to the grid.
 */
export function FilesGrid<T>(props: IFilesGridProps<T>): JSX.Element {
  const { items, columns, rowHeight, height, idPrefix, onPainted } = props;
  const [row, setRow] = React.useState(0);
  const [col, setCol] = React.useState(0);
  const grid = React.useRef<HTMLDivElement>(null);
  const viewportHeight = Math.min(height, items.length * rowHeight + 2);
  const rows = useRowWindow({
    count: items.length,
    rowHeight,
    height: viewportHeight
  });

  React.useEffect(() => {
    if (!onPainted) {
      return;
    }
    const frame = requestAnimationFrame(() => onPainted());
    return () => cancelAnimationFrame(frame);
  }, [items]);

  const activeRow = Math.min(row, Math.max(items.length - 1, 0));
  // One track list for every row, as a custom property of the grid.
  const template = columns.map(c => c.width).join(' ');

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
    let nextRow =
      verticalStep(event.key, activeRow, items.length, rows.page) ?? activeRow;
    let nextCol = col;
    switch (event.key) {
      case 'ArrowDown':
      case 'ArrowUp':
      case 'PageDown':
      case 'PageUp':
        break;
      case 'ArrowRight':
        nextCol++;
        break;
      case 'ArrowLeft':
        nextCol--;
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
          .getElementById(cellId(idPrefix, activeRow, col))
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
    nextCol = Math.max(0, Math.min(columns.length - 1, nextCol));
    setRow(nextRow);
    setCol(nextCol);
    rows.reveal(nextRow);
  };

  // One handler for every cell: rows stay free of per-row closures.
  const onClick = (event: React.MouseEvent) => {
    const index = rowIndexOf(event);
    if (index === null || index >= items.length) {
      return;
    }
    const cell = (event.target as Element).closest('[data-col]');
    setRow(index);
    if (cell) {
      setCol(Number(cell.getAttribute('data-col')));
    }
  };

  const children: React.ReactNode[] = [];
  for (let index = rows.first; index < rows.last; index++) {
    children.push(
      <GridRow
        key={index % rows.slots}
        item={items[index]}
        index={index}
        columns={columns}
        activeCol={index === activeRow ? col : -1}
        transform={rows.transformOf(index)}
        rowHeight={rowHeight}
        idPrefix={idPrefix}
      />
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
        items.length > 0 ? cellId(idPrefix, activeRow, col) : undefined
      }
      style={
        { '--jp-modelvault-grid-columns': template } as React.CSSProperties
      }
      onKeyDown={onKeyDown}
    >
      <div role="row" aria-rowindex={1} className="jp-ModelVault-Grid-header">
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
        ref={rows.viewport}
        className="jp-ModelVault-Grid-viewport"
        role="rowgroup"
        style={{ height: viewportHeight }}
        onClick={onClick}
      >
        <div
          className="jp-ModelVault-Grid-inner"
          style={{ height: items.length * rowHeight }}
        >
          {children}
        </div>
      </div>
    </div>
  );
}
