import * as React from 'react';
import { flushSync } from 'react-dom';

/**
 * Windowing: of many fixed-height rows only those in view (plus an overscan)
 * are in the DOM. The one implementation behind the sidebar's list boxes
 * (`VirtualList`) and the model page's files grid (`FilesGrid`).
 *
 * Why it scrolls smoothly at 10,000 rows:
 * - a scroll re-renders nothing while the rendered rows still cover the view;
 *   when they stop covering it, the new window is committed in the same
 *   animation frame (rAF + `flushSync`), so no frame shows blank rows;
 * - rows are keyed by slot (`index % slots`), so the DOM nodes of rows that
 *   leave the window are reused for the rows that enter it, and rows are
 *   memoised, so rows that stay are not rendered again;
 * - rows are placed with `transform` and the viewport has `contain: strict`
 *   (style/base.css), so a scroll step lays out and paints only the viewport.
 */

/**
 * A half-open range of row indices `[first, last)`.
 */
export interface IRowRange {
  first: number;
  last: number;
}

/**
 * Rows (partly) visible at `scrollTop` in a viewport of `height` pixels.
 */
export function visibleRows(
  scrollTop: number,
  height: number,
  rowHeight: number,
  count: number
): IRowRange {
  const first = Math.min(count, Math.max(0, Math.floor(scrollTop / rowHeight)));
  const last = Math.min(
    count,
    Math.max(first, Math.ceil((scrollTop + height) / rowHeight))
  );
  return { first, last };
}

/**
 * The rows to render for the visible ones: the current window while it covers
 * them (no re-render), else the visible rows widened by `overscan` each side.
 */
export function nextWindow(
  current: IRowRange,
  visible: IRowRange,
  count: number,
  overscan: number
): IRowRange {
  const covers =
    current.first <= visible.first &&
    current.last >= visible.last &&
    current.last <= count &&
    (count === 0 || current.last > current.first);
  if (covers) {
    return current;
  }
  return {
    first: Math.max(0, visible.first - overscan),
    last: Math.min(count, visible.last + overscan)
  };
}

/**
 * How many rows a window can hold at most: row keys are `index % slots`, unique
 * within any window, so DOM nodes move between indices instead of being replaced.
 */
export function slotCount(
  height: number,
  rowHeight: number,
  overscan: number
): number {
  return Math.ceil(height / rowHeight) + 2 * overscan + 2;
}

/**
 * The row that the keys ArrowUp/ArrowDown/PageUp/PageDown move to from `index`
 * (clamped to the rows), or null for any other key.
 */
export function verticalStep(
  key: string,
  index: number,
  count: number,
  page: number
): number | null {
  const delta: Record<string, number> = {
    ArrowDown: 1,
    ArrowUp: -1,
    PageDown: page,
    PageUp: -page
  };
  if (!(key in delta) || count === 0) {
    return null;
  }
  return Math.max(0, Math.min(count - 1, index + delta[key]));
}

/**
 * Options of `useRowWindow`.
 */
export interface IRowWindowOptions {
  count: number;
  rowHeight: number;
  /**
   * Height of the scrolling viewport in pixels.
   */
  height: number;
  /**
   * Rows rendered beyond the view on each side.
   */
  overscan?: number;
}

/**
 * What `useRowWindow` gives its component.
 */
export interface IRowWindow extends IRowRange {
  /**
   * Attach to the scrolling element.
   */
  viewport: React.RefObject<HTMLDivElement>;
  /**
   * Number of distinct row keys (`index % slots`).
   */
  slots: number;
  /**
   * Rows a PageUp/PageDown moves.
   */
  page: number;
  /**
   * Scroll `index` into view and render its window now (keyboard focus).
   */
  reveal(index: number): void;
  /**
   * The CSS transform that places row `index` (rows are absolutely positioned at 0).
   */
  transformOf(index: number): string;
}

/**
 * The windowing state of a scrolling viewport of fixed-height rows.
 */
export function useRowWindow(options: IRowWindowOptions): IRowWindow {
  const { count, rowHeight, height } = options;
  const overscan = options.overscan ?? 6;
  const viewport = React.useRef<HTMLDivElement>(null);
  const scrollTop = React.useRef(0);
  const [range, setRange] = React.useState<IRowRange>({ first: 0, last: 0 });
  // The window of the last render (derived from `range`, see below).
  const shown = React.useRef(range);

  const visibleNow = () =>
    visibleRows(scrollTop.current, height, rowHeight, count);
  const sync = () => {
    scrollTop.current = viewport.current?.scrollTop ?? 0;
    const next = nextWindow(shown.current, visibleNow(), count, overscan);
    if (next !== shown.current) {
      setRange(next);
    }
  };

  React.useEffect(() => {
    const node = viewport.current;
    if (!node) {
      return;
    }
    let frame = 0;
    const onScroll = () => {
      if (frame === 0) {
        frame = requestAnimationFrame(() => {
          frame = 0;
          // Commit before this frame paints (React would otherwise render
          // a rAF update in a later task, after a frame of blank rows).
          flushSync(sync);
        });
      }
    };
    node.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      node.removeEventListener('scroll', onScroll);
      cancelAnimationFrame(frame);
    };
  }, [count, rowHeight, height, overscan]);

  // The items or the viewport may have changed since the last scroll: derive.
  const current = nextWindow(range, visibleNow(), count, overscan);
  shown.current = current;

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
    sync();
  };

  return {
    ...current,
    viewport,
    slots: slotCount(height, rowHeight, overscan),
    page: Math.max(1, Math.floor(height / rowHeight) - 1),
    reveal,
    transformOf: index => `translateY(${index * rowHeight}px)`
  };
}

/**
 * The index of the row element (`data-index`) an event happened in, or null.
 */
export function rowIndexOf(event: React.SyntheticEvent): number | null {
  const row = (event.target as Element).closest?.('[data-index]');
  const index = row ? Number(row.getAttribute('data-index')) : NaN;
  return Number.isInteger(index) ? index : null;
}

/**
 * Properties of the `VirtualList` component.
 */
export interface IVirtualListProps<T> {
  items: ReadonlyArray<T>;
  /**
   * Height of every row in pixels.
   */
  rowHeight: number;
  /**
   * Largest height of the list in pixels (it scrolls beyond).
   */
  maxHeight: number;
  /**
   * Accessible name of the list.
   */
  label: string;
  /**
   * A stable key for an item.
   */
  keyOf: (item: T) => string;
  /**
   * The content of a row.
   */
  renderRow: (item: T, index: number) => React.ReactNode;
  /**
   * Called when a row is activated (click, Enter or Space).
   */
  onActivate: (item: T, index: number) => void;
  /**
   * Key of the selected item, if any.
   */
  selectedKey?: string | null;
  /**
   * Called after each render that changed the items (first-render timing).
   */
  onRendered?: (count: number) => void;
  /**
   * Id prefix of the row elements (for `aria-activedescendant`).
   */
  idPrefix: string;
}

interface IListRowProps<T> {
  item: T;
  index: number;
  setSize: number;
  active: boolean;
  selected: boolean;
  transform: string;
  rowHeight: number;
  id: string;
  dataKey: string;
  renderRow: (item: T, index: number) => React.ReactNode;
}

/**
 * One option of a `VirtualList`: rendered again only when its props change.
 */
const ListRow = React.memo(function ListRow<T>(
  props: IListRowProps<T>
): JSX.Element {
  const classes = ['jp-ModelVault-VirtualList-row'];
  if (props.active) {
    classes.push('jp-mod-active');
  }
  if (props.selected) {
    classes.push('jp-mod-selected');
  }
  return (
    <div
      id={props.id}
      role="option"
      aria-selected={props.selected}
      aria-posinset={props.index + 1}
      aria-setsize={props.setSize}
      data-key={props.dataKey}
      data-index={props.index}
      className={classes.join(' ')}
      style={{ height: props.rowHeight, transform: props.transform }}
    >
      {props.renderRow(props.item, props.index)}
    </div>
  );
}) as <T>(props: IListRowProps<T>) => JSX.Element;

/**
 * A keyboard-accessible list box that renders only the rows in view, so that
 * lists of many thousands of entries render and scroll in constant time.
 *
 * Up/Down/Home/End/PageUp/PageDown move the active row; Enter or Space activates it.
 */
export function VirtualList<T>(props: IVirtualListProps<T>): JSX.Element {
  const { items, rowHeight, maxHeight, keyOf, onRendered } = props;
  const [active, setActive] = React.useState(0);
  const total = items.length * rowHeight;
  const height = Math.min(total, maxHeight);
  const rows = useRowWindow({ count: items.length, rowHeight, height });
  const activeIndex = Math.min(active, Math.max(items.length - 1, 0));

  React.useEffect(() => {
    onRendered?.(items.length);
  }, [items]);

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (items.length === 0) {
      return;
    }
    let next = verticalStep(event.key, activeIndex, items.length, rows.page);
    if (event.key === 'Home') {
      next = 0;
    } else if (event.key === 'End') {
      next = items.length - 1;
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      props.onActivate(items[activeIndex], activeIndex);
      return;
    }
    if (next === null) {
      return;
    }
    event.preventDefault();
    setActive(next);
    rows.reveal(next);
  };

  const onClick = (event: React.MouseEvent) => {
    const index = rowIndexOf(event);
    if (index !== null && index < items.length) {
      setActive(index);
      props.onActivate(items[index], index);
    }
  };

  const children: React.ReactNode[] = [];
  for (let index = rows.first; index < rows.last; index++) {
    const item = items[index];
    const key = keyOf(item);
    children.push(
      <ListRow
        key={index % rows.slots}
        item={item}
        index={index}
        setSize={items.length}
        active={index === activeIndex}
        selected={props.selectedKey === key}
        transform={rows.transformOf(index)}
        rowHeight={rowHeight}
        id={`${props.idPrefix}-${index}`}
        dataKey={key}
        renderRow={props.renderRow}
      />
    );
  }

  return (
    <div
      ref={rows.viewport}
      className="jp-ModelVault-VirtualList"
      role="listbox"
      tabIndex={0}
      aria-label={props.label}
      aria-activedescendant={
        items.length > 0 ? `${props.idPrefix}-${activeIndex}` : undefined
      }
      style={{ height }}
      onKeyDown={onKeyDown}
      onClick={onClick}
    >
      <div
        className="jp-ModelVault-VirtualList-inner"
        style={{ height: total }}
      >
        {children}
      </div>
    </div>
  );
}
