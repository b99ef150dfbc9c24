import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

import {
  BUNDLE,
  LEAF_REPO,
  MANY_FILES,
  MANY_REPO,
  PAGE_REPOSITORY,
  UI_BENCH,
  MID_REPO,
  NOTEBOOKS,
  ROOT_REPO,
  seedModelPage
} from './seed';

const DOCS_IMAGES = path.resolve(__dirname, '..', '..', 'docs', 'images');
const OPEN = 'modelvault:open-model-page';

test.describe.configure({ mode: 'serial' });
// On the shared 2-core machine JupyterLab can take longer to start than
// galata's fixed 15 s wait: navigate here, retrying a slow start.
test.use({
  viewport: { width: 1400, height: 1000 },
  autoGoto: false,
  waitForApplication: async ({ baseURL }, use) => {
    await use(async (page, helpers) => {
      await page
        .locator('#jupyterlab-splash')
        .waitFor({ state: 'detached', timeout: 120_000 });
      await helpers.waitForCondition(
        () => helpers.activity.isTabActive('Launcher'),
        120_000
      );
      await helpers.activity.activateTab('Launcher');
    });
  }
});

async function gotoLab(page: IJupyterLabPageFixture): Promise<void> {
  // galata's own goto waits 15 s for the app; do its steps with longer waits.
  const lab = page as unknown as {
    page: import('@playwright/test').Page;
    waitIsReady: (page: unknown, helpers: unknown) => Promise<void>;
  };
  await lab.page.goto('/lab?reset', { waitUntil: 'domcontentloaded' });
  await lab.page.waitForFunction(
    async () => {
      if (typeof window.jupyterapp !== 'object') {
        return false;
      }
      await window.jupyterapp.started;
      return typeof window.galata === 'object' && !!window.galata.app;
    },
    undefined,
    { timeout: 120_000, polling: 500 }
  );
  await lab.waitIsReady(lab.page, page);
}

test.setTimeout(240_000);

test.beforeAll(async () => {
  test.setTimeout(900_000);
  await seedModelPage();
});

async function openPage(
  page: IJupyterLabPageFixture,
  repoId: string
): Promise<Locator> {
  if (!(await page.evaluate(() => typeof window.jupyterapp === 'object'))) {
    await gotoLab(page);
  }
  // The command answers the page widget, which is not serialisable: answer nothing.
  await page.evaluate(
    async ([command, repoId, repository]) => {
      await window.jupyterapp.commands.execute(command, {
        repository,
        repoType: 'model',
        repoId
      });
    },
    [OPEN, repoId, PAGE_REPOSITORY]
  );
  const body = page.locator('.jp-ModelVault-ModelPage').filter({
    has: page.getByRole('heading', { name: repoId, exact: true, level: 1 })
  });
  await expect(body).toBeVisible();
  return body;
}

async function setTheme(
  page: IJupyterLabPageFixture,
  theme: string
): Promise<void> {
  await page.evaluate(
    theme =>
      window.jupyterapp.commands.execute('apputils:change-theme', { theme }),
    theme
  );
  await expect(page.locator('body')).toHaveAttribute(
    'data-jp-theme-name',
    theme,
    { timeout: 30_000 }
  );
}

function lineageText(body: Locator): Locator {
  return body.getByRole('list', { name: 'Lineage as text' });
}

test('opens from the sidebar with card, chain, bundle and notebooks; light and dark screenshots', async ({
  page
}) => {
  await gotoLab(page);
  await page
    .locator('.jp-SideBar.jp-mod-left li[data-id="modelvault-sidebar"]')
    .click();
  const section = page.locator('#modelvault-repositories');
  await section
    .getByRole('button', { name: PAGE_REPOSITORY, exact: true })
    .click();
  await section
    .getByRole('listbox', { name: `Hub repos of ${PAGE_REPOSITORY}` })
    .getByRole('option', { name: new RegExp(LEAF_REPO) })
    .click();
  await section.getByRole('button', { name: 'Open model page' }).click();
  const body = page.locator('.jp-ModelVault-ModelPage');
  await expect(
    body.getByRole('heading', { name: LEAF_REPO, level: 1 })
  ).toBeVisible();

  // The card, rendered by JupyterLab's Markdown renderer (front matter as fields).
  const card = body.locator('.jp-ModelVault-ModelPage-card');
  await expect(
    card.getByRole('heading', { name: 'Intended use' })
  ).toBeVisible();
  await expect(card.getByRole('cell', { name: '0.91' })).toBeVisible();
  await expect(card).not.toContainText('base_model:');

  // Lineage: three-level chain, the pinning bundle, two notebooks and their users.
  const text = lineageText(body);
  await expect(text).toContainText(`${LEAF_REPO} fine-tuned from ${MID_REPO}`);
  await expect(text).toContainText(`${MID_REPO} fine-tuned from ${ROOT_REPO}`);
  await expect(text).toContainText(
    `bundle ${BUNDLE.name} ${BUNDLE.version} pins`
  );
  for (const nb of NOTEBOOKS) {
    await expect(text).toContainText(
      `${nb.notebook} (kernel ${nb.kernel.slice(0, 8)}) fetched 1× ${LEAF_REPO}`
    );
    await expect(text).toContainText(`user ${nb.user} ran ${nb.notebook}`);
  }
  const graph = body.getByRole('img', {
    name: `Lineage graph of ${LEAF_REPO}`
  });
  await expect(graph.locator('figure img, svg').first()).toBeVisible();
  await expect(graph).toHaveAttribute(
    'aria-describedby',
    (await text.getAttribute('id'))!
  );

  // Policy decision and files.
  await expect(body.locator('.jp-ModelVault-ModelPage-decision')).toContainText(
    /licence: apache-2\.0/i
  );
  const grid = body.getByRole('grid', { name: `Files of ${LEAF_REPO}` });
  await expect(grid.getByRole('row')).toHaveCount(4);

  // Revision picker: branches and commits.
  const picker = body.getByRole('combobox', { name: 'Revision' });
  await expect(picker.locator('optgroup[label="Branches"] option')).toHaveText([
    'main'
  ]);
  await expect(
    picker.locator('optgroup[label="Commits"] option').first()
  ).toContainText('seed');

  await page.evaluate(() => window.jupyterapp.shell.collapseLeft());
  for (const theme of ['light', 'dark'] as const) {
    if (theme === 'dark') {
      await setTheme(page, 'JupyterLab Dark');
    }
    // The graph is drawn again in the theme's colours.
    await expect(graph).toHaveAttribute('data-drawn-theme', theme, {
      timeout: 60_000
    });
    await expect(graph.locator('figure img, svg').first()).toBeVisible();
    await page.screenshot({
      path: path.join(DOCS_IMAGES, `model-page-${theme}.png`)
    });
    // The whole page, card included: a window tall enough for all of it.
    await page.setViewportSize({ width: 1400, height: 2000 });
    await expect
      .poll(async () => (await body.boundingBox())?.height ?? 0)
      .toBeGreaterThan(1500);
    await body.screenshot({
      path: path.join(DOCS_IMAGES, `model-page-full-${theme}.png`)
    });
    await page.setViewportSize({ width: 1400, height: 1000 });
  }
  await setTheme(page, 'JupyterLab Light');
});

test('files grid and lineage graph: ARIA roles and keyboard navigation', async ({
  page
}) => {
  const body = await openPage(page, LEAF_REPO);
  const grid = body.getByRole('grid', { name: `Files of ${LEAF_REPO}` });
  await expect(grid).toHaveAttribute('aria-rowcount', '4');
  await expect(grid).toHaveAttribute('aria-colcount', '6');
  await expect(grid.getByRole('columnheader')).toHaveText([
    'Path',
    'Size',
    'Verdict',
    'Status',
    'Violations',
    'Actions'
  ]);
  const rows = grid.getByRole('row');
  await expect(rows.nth(1)).toHaveAttribute('aria-rowindex', '2');
  await expect(rows.nth(1).getByRole('gridcell').first()).toHaveText(
    'README.md'
  );

  await grid.focus();
  const active = async () =>
    page.evaluate(
      id => document.getElementById(id)?.textContent ?? '',
      (await grid.getAttribute('aria-activedescendant'))!
    );
  expect(await active()).toBe('README.md');
  await page.keyboard.press('ArrowDown');
  expect(await active()).toBe('config.json');
  await page.keyboard.press('Control+End');
  expect(await active()).toContain('Copy snippet');
  await page.keyboard.press('Home');
  expect(await active()).toBe('tokenizer/vocab.txt');
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  expect(await active()).toBe('clean');
  // Enter moves into the actions cell's buttons, Escape back to the grid.
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await expect(
    grid.getByRole('button', { name: 'Copy snippet' }).first()
  ).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(grid).toBeFocused();
  await expect(grid.locator('[aria-selected="true"]')).toHaveCount(1);

  const graph = body.getByRole('img', {
    name: `Lineage graph of ${LEAF_REPO}`
  });
  const describedBy = await graph.getAttribute('aria-describedby');
  const items = page.locator(`#${describedBy} > li`);
  // 2 chain edges, 1 bundle, 2 notebooks + 2 "ran" edges.
  await expect(items).toHaveCount(7);
});

test('opens from the command palette, inserts Set Me Up into the notebook, is restored on reload', async ({
  page
}) => {
  await gotoLab(page);
  // The palette command asks for the repository, then the repo id.
  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute(
      'apputils:activate-command-palette'
    );
  });
  await page
    .locator('.lm-CommandPalette-input:visible')
    .fill('Open ModelVault Model Page');
  await page.keyboard.press('Enter');
  const dialog = page.locator('.jp-Dialog');
  await dialog.locator('select').selectOption(PAGE_REPOSITORY);
  await dialog.locator('.jp-mod-accept').click();
  await dialog.locator('input').fill(MID_REPO);
  await dialog.locator('.jp-mod-accept').click();
  const body = page.locator('.jp-ModelVault-ModelPage').filter({
    has: page.getByRole('heading', { name: MID_REPO, exact: true, level: 1 })
  });
  await expect(body.locator('.jp-ModelVault-ModelPage-card')).toContainText(
    `fine-tuned from ${ROOT_REPO}`
  );

  // A notebook (its one empty code cell active), created by command: no dialog;
  // after the palette, whose modal closes when the new notebook takes the focus.
  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('notebook:create-new', {
      kernelName: 'python3'
    });
  });
  await expect(page.locator('.jp-NotebookPanel .jp-Cell')).toHaveCount(1);

  // Back to the page (the command activates the open one).
  await page.evaluate(
    async ([command, repoId, repository]) => {
      await window.jupyterapp.commands.execute(command, {
        repository,
        repoType: 'model',
        repoId
      });
    },
    [OPEN, MID_REPO, PAGE_REPOSITORY]
  );
  await expect(body).toBeVisible();
  // modelvault:insert-snippet: a code cell below the notebook's active cell.
  await body.getByRole('button', { name: 'Insert into notebook' }).click();
  const cells = page.locator('.jp-NotebookPanel .jp-Cell');
  await expect(cells).toHaveCount(2);
  const notebookCells = await page.evaluate(() =>
    (
      window.jupyterapp.shell.currentWidget as unknown as {
        content: {
          model: {
            sharedModel: { cells: { cell_type: string; source: string }[] };
          };
        };
      }
    ).content.model.sharedModel.cells.map(c => [c.cell_type, c.source])
  );
  expect(notebookCells[0]).toEqual(['code', '']);
  expect(notebookCells[1][0]).toBe('code');
  expect(notebookCells[1][1]).toContain('from huggingface_hub import');
  expect(notebookCells[1][1]).toContain(MID_REPO);

  // Restored on reload (raw reload: galata's would reset the workspace); the
  // unsaved notebook's "leave the page?" is answered yes.
  const raw = (page as unknown as { page: import('@playwright/test').Page })
    .page;
  raw.on('dialog', dialog => void dialog.accept());
  await raw.reload();
  // The page's tab is back (behind the notebook, the active widget): show it.
  const tab = page.getByRole('tab', { name: MID_REPO });
  await expect(tab).toBeVisible({ timeout: 120_000 });
  await tab.click();
  await expect(body.locator('.jp-ModelVault-ModelPage-card')).toContainText(
    `fine-tuned from ${ROOT_REPO}`
  );
});

/**
 * CPU seconds (user + system, /proc) of this worker's browser: its renderer
 * processes and all of it (the GPU process rasterises with --disable-gpu).
 * Unlike DevTools' task durations, these do not grow when the machine is loaded.
 */
function browserCpu(): { renderer: number; all: number } {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  const renderer = new Set<number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(name);
      parent.set(pid, Number(fields[1]));
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
      if (
        fs
          .readFileSync(`/proc/${name}/cmdline`, 'utf8')
          .includes('--type=renderer')
      ) {
        renderer.add(pid);
      }
    } catch {
      // exited meanwhile
    }
  }
  const total = { renderer: 0, all: 0 };
  for (const [pid, seconds] of cpu) {
    let up = parent.get(pid);
    while (up !== undefined && up > 1 && up !== process.pid) {
      up = parent.get(up);
    }
    if (up === process.pid) {
      total.all += seconds;
      if (renderer.has(pid)) {
        total.renderer += seconds;
      }
    }
  }
  return total;
}

// A benchmark (MV_UI_BENCH=1), not part of the CI suite: see model-page-seed.ts.
if (UI_BENCH) {
  test(`a ${MANY_FILES}-file repo: first paint after data and scrolling (Performance API)`, async ({
    page
  }) => {
    await page.evaluate(() => performance.clearMarks());
    const body = await openPage(page, MANY_REPO);
    const grid = body.getByRole('grid', { name: `Files of ${MANY_REPO}` });
    await expect(grid).toHaveAttribute(
      'aria-rowcount',
      String(MANY_FILES + 1),
      {
        timeout: 180_000
      }
    );
    await page.waitForFunction(
      () =>
        performance.getEntriesByName('modelvault:model-page:files-painted')
          .length > 0
    );
    const firstPaint = await page.evaluate(() => {
      const data = performance.getEntriesByName(
        'modelvault:model-page:files-data'
      )[0];
      const painted = performance.getEntriesByName(
        'modelvault:model-page:files-painted'
      )[0];
      return painted.startTime - data.startTime;
    });
    // Only the rows in view are in the DOM.
    const rendered = await grid.getByRole('row').count();
    expect(rendered).toBeLessThan(60);

    // Scroll the whole list top to bottom (and back) in 40 steps a pass, one
    // step per animation frame; the frame times come from rAF timestamps, the
    // renderer's main-thread CPU from the DevTools Performance domain.
    const passes = Number(process.env.MV_UI_BENCH_PASSES || '3');
    // galata's page fixture wraps the Playwright page that CDP needs.
    const raw = (page as unknown as { page: import('@playwright/test').Page })
      .page;
    const cdp = await raw.context().newCDPSession(raw);
    await cdp.send('Performance.enable');
    const metrics = async () =>
      Object.fromEntries(
        (await cdp.send('Performance.getMetrics')).metrics.map(m => [
          m.name,
          m.value
        ])
      );
    const before = await metrics();
    const cpuBefore = browserCpu();
    const scroll = await grid
      .locator('.jp-ModelVault-Grid-viewport')
      .evaluate(async (viewport: HTMLElement, passes: number) => {
        const frames: number[] = [];
        const steps = 40;
        const max = viewport.scrollHeight - viewport.clientHeight;
        const frame = () =>
          new Promise<number>(r => requestAnimationFrame(t => r(t)));
        let last = await frame();
        const start = last;
        for (let pass = 0; pass < passes; pass++) {
          for (let i = 1; i <= steps; i++) {
            const step = pass % 2 === 0 ? i : steps - i;
            viewport.scrollTop = (max * step) / steps;
            const now = await frame();
            frames.push(now - last);
            last = now;
          }
        }
        if (passes % 2 === 0) {
          viewport.scrollTop = max; // end at the bottom (checked below)
          await frame();
        }
        frames.sort((a, b) => a - b);
        const at = (q: number) =>
          frames[Math.min(frames.length - 1, Math.floor(frames.length * q))];
        return {
          frames: frames.length,
          total: last - start,
          median: at(0.5),
          p95: at(0.95),
          max: frames[frames.length - 1]
        };
      }, passes);
    const after = await metrics();
    const cpuAfter = browserCpu();
    const cpu = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    await expect(grid.getByRole('row').last()).toContainText('part-09998');
    const result = {
      files: MANY_FILES,
      firstPaintMs: firstPaint,
      domRows: rendered,
      ...scroll,
      // CPU seconds of the browser's processes during the scroll.
      rendererCpuS: cpuAfter.renderer - cpuBefore.renderer,
      browserCpuS: cpuAfter.all - cpuBefore.all,
      // Seconds of renderer main-thread tasks (wall time inside tasks).
      taskS: cpu('TaskDuration'),
      scriptS: cpu('ScriptDuration'),
      layoutS: cpu('LayoutDuration'),
      styleS: cpu('RecalcStyleDuration')
    };
    console.log(
      `[model-page perf] ${MANY_FILES} files: first paint after data ${firstPaint.toFixed(1)} ms; ` +
        `${rendered} rows in the DOM; scroll ${scroll.frames} frames: total ${scroll.total.toFixed(1)} ms, ` +
        `median ${scroll.median.toFixed(1)} ms, p95 ${scroll.p95.toFixed(1)} ms, max ${scroll.max.toFixed(1)} ms; ` +
        `renderer CPU ${(result.rendererCpuS * 1000).toFixed(0)} ms, browser CPU ${(result.browserCpuS * 1000).toFixed(0)} ms; ` +
        `main-thread tasks ${(result.taskS * 1000).toFixed(0)} ms (script ${(result.scriptS * 1000).toFixed(0)}, ` +
        `layout ${(result.layoutS * 1000).toFixed(0)}, style ${(result.styleS * 1000).toFixed(0)})`
    );
    console.log(`[model-page perf json] ${JSON.stringify(result)}`);
  });
}
