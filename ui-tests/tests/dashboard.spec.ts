import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { request as playwrightRequest } from '@playwright/test';

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

async function openDashboard(page: IJupyterLabPageFixture) {
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
      await expect(
        chart.locator('.vega-embed svg, .vega-embed canvas')
      ).toBeVisible({
        timeout: 20000
      });
    }
    // The data behind a chart is there as a table too.
    const verdicts = dashboard.locator('figure[data-chart="verdicts"]');
    await verdicts.locator('summary').click();
    await expect(verdicts.locator('table')).toContainText('malicious');

    await page.screenshot({ path: '../docs/images/dashboard-light.png' });
    await page.theme.setDarkTheme();
    await expect(page.locator('body')).toHaveAttribute(
      'data-jp-theme-light',
      'false'
    );
    await expect(
      dashboard.locator(
        'figure[data-chart="timeline"] .vega-embed svg, figure[data-chart="timeline"] .vega-embed canvas'
      )
    ).toBeVisible();
    await page.screenshot({ path: '../docs/images/dashboard-dark.png' });
    await page.theme.setLightTheme();
  });

  test('is in the ModelVault main menu and restored on reload', async ({
    page
  }) => {
    await page.menu.open('ModelVault');
    await page
      .locator('.lm-Menu-itemLabel', { hasText: 'ModelVault Dashboard' })
      .click();
    await expect(page.locator('#modelvault-dashboard')).toBeVisible();
    await page.reload({ waitForIsReady: false });
    await expect(page.locator('#modelvault-dashboard')).toBeVisible({
      timeout: 30000
    });
  });

  test('status bar item opens the Activity view', async ({ page }) => {
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
    await page.theme.setDarkTheme();
    await page.locator('.jp-StatusBar-Widget').screenshot({
      path: '../docs/images/status-bar-dark.png'
    });
    await page.theme.setLightTheme();
  });
});
