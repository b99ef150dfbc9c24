import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { request as playwrightRequest } from '@playwright/test';

import { openLab, setTheme } from './lab';
import { BASE_URL, CLEAN_REPO, seedVault } from './seed';

const MIRROR = 'hub-mirror';

/**
 * Seed what the dashboard draws, through the real API: the shared seed (a
 * blocked download in `models`), a waiver, and an hf-remote mirror of
 * `models` (this same server as its upstream) that served one file twice:
 * a cache miss, then a hit.
 */
async function seedDashboard(): Promise<void> {
  await seedVault();
  const api = await playwrightRequest.newContext({ baseURL: BASE_URL });
  try {
    const minted = await api.post('modelvault/api/tokens', {
      data: {
        name: 'ui-tests-mirror',
        scope: 'read',
        repositories: ['models'],
        expires_in_seconds: 3600
      }
    });
    const token = (await minted.json()).token as string;
    const created = await api.post('modelvault/api/repositories', {
      data: {
        key: MIRROR,
        kind: 'hf-remote',
        description: 'Mirror of the models repository',
        config: {
          upstream: `${BASE_URL}/modelvault/hf/models`,
          upstream_token: token
        }
      }
    });
    if (created.status() === 201) {
      const reader = await api.post('modelvault/api/tokens', {
        data: {
          name: 'ui-tests-mirror-reader',
          scope: 'read',
          repositories: [MIRROR],
          expires_in_seconds: 3600
        }
      });
      const headers = {
        Authorization: `Bearer ${(await reader.json()).token as string}`
      };
      for (let i = 0; i < 2; i++) {
        const r = await api.get(
          `modelvault/hf/${MIRROR}/${CLEAN_REPO}/resolve/main/config.json`,
          { headers }
        );
        if (!r.ok()) {
          throw new Error(`mirror download: ${r.status()} ${await r.text()}`);
        }
      }
    } else if (created.status() !== 409) {
      throw new Error(`mirror: ${created.status()} ${await created.text()}`);
    }
  } finally {
    await api.dispose();
  }
}

test.beforeAll(async () => {
  await seedDashboard();
});

// Galata's own start-up wait is too short here: see openLab.
test.use({ autoGoto: false });
// Start-up alone can take half a minute on the loaded shared machine.
test.setTimeout(180_000);

async function openDashboard(page: IJupyterLabPageFixture) {
  await openLab(page);
  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('modelvault:open-dashboard');
  });
  const dashboard = page.locator('#modelvault-dashboard');
  await expect(dashboard).toBeVisible();
  return dashboard;
}

test.describe('ModelVault dashboard', () => {
  test('shows holdings, cache ratio and Vega-Lite charts', async ({ page }) => {
    const dashboard = await openDashboard(page);
    const table = dashboard.getByRole('table', { name: 'Repositories' });
    const models = table.locator('tr[data-repository="models"]');
    await expect(models).toContainText('hf-local');
    const mirror = table.locator(`tr[data-repository="${MIRROR}"]`);
    await expect(mirror).toContainText('50% (1 of 2)');
    await expect(mirror).toContainText('/modelvault/hf/models');
    // Every chart with data is drawn by JupyterLab's Vega-Lite renderer.
    for (const id of ['bytes', 'cache', 'verdicts', 'licences', 'timeline']) {
      const chart = dashboard.locator(`figure[data-chart="${id}"]`);
      const marks = chart.locator('.vega-embed .marks');
      await expect(marks).toBeVisible({ timeout: 20000 });
      await expect(marks).not.toHaveAttribute('width', '0');
    }
    // The data behind a chart is there as a table too.
    const verdicts = dashboard.locator('figure[data-chart="verdicts"]');
    await verdicts.locator('.jp-ModelVault-ChartData > summary').click();
    await expect(
      verdicts.locator('.jp-ModelVault-ChartData table')
    ).toContainText('malicious');

    await page.setViewportSize({ width: 1400, height: 1100 });
    // Toasts (e.g. a version notice of a dev install) would cover the charts.
    for (const close of await page.locator('.Toastify__close-button').all()) {
      await close.click();
    }
    await dashboard.locator('.jp-ModelVault-Dashboard').evaluate(el => {
      el.scrollTop = 0;
    });
    await page.screenshot({ path: '../docs/images/dashboard-light.png' });
    await setTheme(page, true);
    // A theme change redraws the charts: for a moment the old and the new canvas are both there.
    await expect(
      dashboard
        .locator('figure[data-chart="timeline"] .vega-embed .marks')
        .last()
    ).toBeVisible({ timeout: 20000 });
    await page.screenshot({ path: '../docs/images/dashboard-dark.png' });
    await setTheme(page, false);
  });

  test('is in the ModelVault main menu and restored on reload', async ({
    page
  }) => {
    await openLab(page);
    await page
      .locator('.lm-MenuBar-itemLabel', { hasText: 'ModelVault' })
      .click();
    // The layout restorer saves the workspace after the layout changed: wait for that save
    // (a reload before it would restore the layout of before).
    const saved = page.page.waitForRequest(
      request =>
        request.method() === 'PUT' &&
        request.url().includes('/api/workspaces/') &&
        (request.postData() ?? '').includes('modelvault-dashboard'),
      { timeout: 30000 }
    );
    await page
      .locator('.lm-Menu-itemLabel', { hasText: 'ModelVault Dashboard' })
      .click();
    await expect(page.locator('#modelvault-dashboard')).toBeVisible();
    await saved;
    // A raw reload keeps the workspace (navigating to /lab may start a fresh one).
    await page.page.reload();
    await expect(page.locator('#modelvault-dashboard')).toBeVisible({
      timeout: 120000
    });
  });

  test('status bar item opens the Activity view', async ({ page }) => {
    await openLab(page);
    // Galata hides the status bar: show it.
    if (!(await page.locator('#jp-main-statusbar').isVisible())) {
      await page.evaluate(async () => {
        await (window as any).jupyterapp.commands.execute('statusbar:toggle');
      });
    }
    const item = page.locator('.jp-ModelVault-TransfersButton');
    await expect(item).toHaveText(/ModelVault: (No transfers|\d+ transfers?)/);
    await item.focus();
    await page.keyboard.press('Enter');
    const activity = page
      .locator('#modelvault-sidebar .jp-AccordionPanel-title')
      .filter({ hasText: 'Activity' });
    await expect(activity).toHaveAttribute('aria-expanded', 'true');
    await page.locator('.jp-StatusBar-Widget').screenshot({
      path: '../docs/images/status-bar-light.png'
    });
    await setTheme(page, true);
    await page.locator('.jp-StatusBar-Widget').screenshot({
      path: '../docs/images/status-bar-dark.png'
    });
    await setTheme(page, false);
  });
});
