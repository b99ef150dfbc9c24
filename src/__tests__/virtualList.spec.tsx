import * as React from 'react';

import {
  nextWindow,
  slotCount,
  verticalStep,
  VirtualList,
  visibleRows
} from '../components/VirtualList';
import { FilesGrid, IGridColumn } from '../pages/model/FilesGrid';

// react-dom ships no types here (JupyterLab shares it as a singleton).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createRoot } = require('react-dom/client');
// React 18.3's own act (the one of react-dom/test-utils is deprecated).
const act: (scope: () => void) => void = (React as any).act;

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

const ROW = 28;
const HEIGHT = 420;

describe('windowing arithmetic', () => {
  it('finds the rows in view', () => {
    expect(visibleRows(0, HEIGHT, ROW, 10_000)).toEqual({ first: 0, last: 15 });
    expect(visibleRows(ROW * 100 + 5, HEIGHT, ROW, 10_000)).toEqual({
      first: 100,
      last: 116
    });
    expect(visibleRows(ROW * 9_990, HEIGHT, ROW, 10_000)).toEqual({
      first: 9_990,
      last: 10_000
    });
    expect(visibleRows(0, HEIGHT, ROW, 0)).toEqual({ first: 0, last: 0 });
  });

  it('keeps the window while it covers the view, else re-centres it', () => {
    const window = { first: 94, last: 122 };
    expect(nextWindow(window, { first: 100, last: 116 }, 10_000, 6)).toBe(
      window
    );
    expect(nextWindow(window, { first: 110, last: 126 }, 10_000, 6)).toEqual({
      first: 104,
      last: 132
    });
    // Items shrank under the window: recompute within the new count.
    expect(nextWindow(window, { first: 0, last: 3 }, 3, 6)).toEqual({
      first: 0,
      last: 3
    });
    // No window yet: one is made.
    expect(
      nextWindow({ first: 0, last: 0 }, { first: 0, last: 15 }, 10_000, 6)
    ).toEqual({ first: 0, last: 21 });
  });

  it('has a slot for every row of the largest window', () => {
    const slots = slotCount(HEIGHT, ROW, 6);
    for (let top = 0; top < ROW * 50; top += 7) {
      const visible = visibleRows(top, HEIGHT, ROW, 10_000);
      const window = nextWindow({ first: 0, last: 0 }, visible, 10_000, 6);
      expect(window.last - window.first).toBeLessThanOrEqual(slots);
    }
  });

  it('steps with arrows and pages, clamped', () => {
    expect(verticalStep('ArrowDown', 0, 10, 5)).toBe(1);
    expect(verticalStep('ArrowUp', 0, 10, 5)).toBe(0);
    expect(verticalStep('PageDown', 8, 10, 5)).toBe(9);
    expect(verticalStep('PageUp', 8, 10, 5)).toBe(3);
    expect(verticalStep('Home', 8, 10, 5)).toBeNull();
    expect(verticalStep('ArrowDown', 0, 0, 5)).toBeNull();
  });
});

interface IItem {
  path: string;
}

const ITEMS: IItem[] = Array.from({ length: 10_000 }, (_, i) => ({
  path: `part-${String(i).padStart(5, '0')}.txt`
}));

/**
 * Mount `element` in a fresh container attached to the document.
 */
function mount(element: React.ReactElement) {
  const host = document.createElement('div');
  document.body.appendChild(host);
  const root = createRoot(host);
  act(() => root.render(element));
  return {
    host,
    rerender: (next: React.ReactElement) => act(() => root.render(next)),
    dispose: () => {
      act(() => root.unmount());
      host.remove();
    }
  };
}

/**
 * Scroll `viewport` to `top` the way a browser does: a scroll event, then the
 * animation frame in which the grid renders its new window.
 */
function scrollTo(viewport: HTMLElement, top: number) {
  act(() => {
    viewport.scrollTop = top;
    viewport.dispatchEvent(new Event('scroll'));
  });
  act(() => {
    jest.runOnlyPendingTimers();
  });
}

describe('FilesGrid', () => {
  let renders = 0;
  const columns: IGridColumn<IItem>[] = [
    {
      id: 'path',
      title: 'Path',
      width: '1fr',
      render: item => {
        renders++;
        return item.path;
      }
    },
    { id: 'size', title: 'Size', width: '6em', render: () => '1 B' }
  ];
  const grid = (
    <FilesGrid
      items={ITEMS}
      columns={columns}
      keyOf={item => item.path}
      label="Files"
      rowHeight={ROW}
      height={HEIGHT}
      idPrefix="t"
    />
  );

  beforeEach(() => {
    jest.useFakeTimers();
    renders = 0;
  });
  afterEach(() => jest.useRealTimers());

  it('renders the rows in view, and on scroll only the rows that enter, in reused nodes', () => {
    const { host, dispose } = mount(grid);
    const element = host.querySelector<HTMLElement>('[role="grid"]')!;
    const viewport = host.querySelector<HTMLElement>('[role="rowgroup"]')!;
    expect(element.getAttribute('aria-rowcount')).toBe('10001');
    const rows = () =>
      Array.from(viewport.querySelectorAll<HTMLElement>('[role="row"]'));
    const first = rows();
    expect(first.length).toBeLessThan(40);
    expect(first[0].getAttribute('aria-rowindex')).toBe('2');
    expect(renders).toBe(first.length);

    // A scroll within the overscan renders nothing.
    renders = 0;
    scrollTo(viewport, ROW * 3);
    expect(renders).toBe(0);

    // One more screenful: only the rows that enter the window render.
    scrollTo(viewport, ROW * 20);
    const entered = renders;
    expect(entered).toBeGreaterThan(0);
    expect(entered).toBeLessThan(first.length);
    expect(rows()[0].getAttribute('aria-rowindex')).toBe(String(20 - 6 + 2));

    // A jump far away re-renders every row, into the same DOM nodes.
    const nodes = new Set(rows());
    scrollTo(viewport, ROW * 5_000);
    const after = rows();
    expect(after[0].textContent).toContain('part-04994');
    // (a window can be a row or two shorter than the slots: those rows are new)
    const reused = after.filter(row => nodes.has(row)).length;
    expect(reused).toBeGreaterThanOrEqual(after.length - 2);
    // DOM order is the visual order.
    const indices = after.map(r => Number(r.getAttribute('aria-rowindex')));
    expect(indices).toEqual([...indices].sort((a, b) => a - b));
    dispose();
  });

  it('moves the active cell with the keyboard and keeps it in the DOM', () => {
    const { host, dispose } = mount(grid);
    const element = host.querySelector<HTMLElement>('[role="grid"]')!;
    const active = () =>
      document.getElementById(element.getAttribute('aria-activedescendant')!)
        ?.textContent;
    const press = (key: string, init: KeyboardEventInit = {}) =>
      act(() => {
        element.dispatchEvent(
          new KeyboardEvent('keydown', { key, bubbles: true, ...init })
        );
      });
    element.focus();
    expect(active()).toBe('part-00000.txt');
    press('ArrowDown');
    expect(active()).toBe('part-00001.txt');
    press('ArrowRight');
    expect(active()).toBe('1 B');
    press('Home');
    press('PageDown');
    expect(active()).toBe(`part-${String(1 + 14).padStart(5, '0')}.txt`);
    press('End', { ctrlKey: true });
    expect(active()).toBe('1 B');
    expect(
      element
        .querySelector('[aria-selected="true"]')
        ?.getAttribute('aria-rowindex')
    ).toBe('10001');
    press('Home', { ctrlKey: true });
    expect(active()).toBe('part-00000.txt');
    dispose();
  });
});

describe('VirtualList', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('is a list box of the rows in view that activates on click and keys', () => {
    const activated: number[] = [];
    const { host, dispose } = mount(
      <VirtualList
        items={ITEMS}
        rowHeight={26}
        maxHeight={320}
        label="Files"
        keyOf={item => item.path}
        renderRow={item => item.path}
        onActivate={(_, index) => activated.push(index)}
        selectedKey="part-00002.txt"
        idPrefix="l"
      />
    );
    const list = host.querySelector<HTMLElement>('[role="listbox"]')!;
    const options = () =>
      Array.from(list.querySelectorAll<HTMLElement>('[role="option"]'));
    expect(options().length).toBeLessThan(40);
    expect(options()[2].getAttribute('aria-selected')).toBe('true');
    expect(options()[0].getAttribute('aria-setsize')).toBe('10000');
    act(() => options()[3].click());
    expect(activated).toEqual([3]);
    act(() => {
      list.dispatchEvent(
        new KeyboardEvent('keydown', { key: 'End', bubbles: true })
      );
    });
    expect(list.getAttribute('aria-activedescendant')).toBe('l-9999');
    expect(document.getElementById('l-9999')?.textContent).toBe(
      'part-09999.txt'
    );
    act(() => {
      list.dispatchEvent(
        new KeyboardEvent('keydown', { key: 'Enter', bubbles: true })
      );
    });
    expect(activated).toEqual([3, 9999]);
    scrollTo(list, 0);
    expect(options()[0].getAttribute('aria-posinset')).toBe('1');
    dispose();
  });
});
