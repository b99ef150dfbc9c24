import * as React from 'react';

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

/**
 * Rows rendered around the visible window.
 */
const OVERSCAN = 8;

/**
 * A keyboard-accessible list box that renders only the rows in view, so that
 * lists of many thousands of entries render and scroll in constant time.
 *
 * Up/Down/Home/End/PageUp/PageDown move the active row; Enter or Space activates it.
 */
export function VirtualList<T>(props: IVirtualListProps<T>): JSX.Element {
  const { items, rowHeight, maxHeight, keyOf, onRendered } = props;
  const [scrollTop, setScrollTop] = React.useState(0);
  const [active, setActive] = React.useState(0);
  const ref = React.useRef<HTMLDivElement>(null);

  const total = items.length * rowHeight;
  const height = Math.min(total, maxHeight);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(
    items.length,
    Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN
  );
  const activeIndex = Math.min(active, Math.max(items.length - 1, 0));

  React.useEffect(() => {
    onRendered?.(items.length);
  }, [items]);

  const reveal = (index: number) => {
    const node = ref.current;
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
    if (items.length === 0) {
      return;
    }
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    let next = activeIndex;
    switch (event.key) {
      case 'ArrowDown':
        next = activeIndex + 1;
        break;
      case 'ArrowUp':
        next = activeIndex - 1;
        break;
      case 'PageDown':
        next = activeIndex + page;
        break;
      case 'PageUp':
        next = activeIndex - page;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = items.length - 1;
        break;
      case 'Enter':
      case ' ':
        event.preventDefault();
        props.onActivate(items[activeIndex], activeIndex);
        return;
      default:
        return;
    }
    event.preventDefault();
    next = Math.max(0, Math.min(items.length - 1, next));
    setActive(next);
    reveal(next);
  };

  const rows: React.ReactNode[] = [];
  for (let index = first; index < last; index++) {
    const item = items[index];
    const key = keyOf(item);
    const classes = ['jp-ModelVault-VirtualList-row'];
    if (index === activeIndex) {
      classes.push('jp-mod-active');
    }
    if (props.selectedKey === key) {
      classes.push('jp-mod-selected');
    }
    rows.push(
      <div
        key={key}
        id={`${props.idPrefix}-${index}`}
        role="option"
        aria-selected={props.selectedKey === key}
        aria-posinset={index + 1}
        aria-setsize={items.length}
        data-key={key}
        className={classes.join(' ')}
        style={{ top: index * rowHeight, height: rowHeight }}
        onClick={() => {
          setActive(index);
          props.onActivate(item, index);
        }}
      >
        {props.renderRow(item, index)}
      </div>
    );
  }

  return (
    <div
      ref={ref}
      className="jp-ModelVault-VirtualList"
      role="listbox"
      tabIndex={0}
      aria-label={props.label}
      aria-activedescendant={
        items.length > 0 ? `${props.idPrefix}-${activeIndex}` : undefined
      }
      style={{ height }}
      onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div
        className="jp-ModelVault-VirtualList-inner"
        style={{ height: total }}
      >
        {rows}
      </div>
    </div>
  );
}
