import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as http from 'http';
import * as path from 'path';

/**
 * Live activity and the bundle wizard's pickers against the real server
 * (galata's test server: no token, the Jupyter user administers the vault).
 */

const SIDEBAR_ID = 'modelvault-sidebar';

async function openSidebar(page: IJupyterLabPageFixture): Promise<Locator> {
  await page
    .locator(`.jp-SideBar.jp-mod-left li[data-id="${SIDEBAR_ID}"]`)
    .click();
  const sidebar = page.locator(`#${SIDEBAR_ID}`);
  await expect(sidebar).toBeVisible();
  return sidebar;
}

/**
 * Expand a collapsed sidebar section by its title (keyboard: focus + Enter).
 */
async function expandSection(
  sidebar: Locator,
  id: string,
  title: RegExp
): Promise<Locator> {
  const section = sidebar.locator(`#modelvault-${id}`);
  if (!(await section.isVisible())) {
    const heading = sidebar.locator('.jp-AccordionPanel-title', {
      hasText: title
    });
    await heading.focus();
    await heading.press('Enter');
  }
  await expect(section).toBeVisible();
  return section;
}

async function ok(
  response: Promise<{ status(): number; text(): Promise<string> }>,
  ...statuses: number[]
): Promise<void> {
  const r = await response;
  expect(statuses, await r.text()).toContain(r.status());
}

/**
 * A bundle of one generic file of `bytes` zero bytes.
 */
async function createBundle(
  request: APIRequestContext,
  name: string,
  bytes: number
): Promise<void> {
  await ok(
    request.put(`/modelvault/api/files/${name}.bin`, {
      data: Buffer.alloc(bytes),
      timeout: 120000
    }),
    201
  );
  await ok(
    request.post('/modelvault/api/bundles', {
      data: {
        name,
        version: '1.0.0',
        components: [{ kind: 'file', name: `${name}.bin` }]
      },
      timeout: 120000
    }),
    201,
    409
  );
}

/**
 * Start downloading a URL, read its first bytes and stop reading: the server
 * keeps the transfer open (socket backpressure) until `destroy()`.
 */
function stalledDownload(url: string): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, response => {
      response.once('data', () => {
        response.pause();
        resolve(request);
      });
    });
    request.on('error', error => {
      if (!request.destroyed) {
        reject(error);
      }
    });
  });
}

test.describe('ModelVault live activity', () => {
  test('shows an export in progress, then its failure', async ({
    page,
    request,
    baseURL
  }) => {
    // A fixed name keeps the screenshots stable (a retry reuses the bundle).
    const name = 'ui-export';
    await createBundle(request, name, 96 * 1024 * 1024);
    const download = await stalledDownload(
      `${baseURL}/modelvault/api/bundles/${name}/1.0.0/archive`
    );
    try {
      const sidebar = await openSidebar(page);
      // The collapsed section's title counts what is in progress.
      await expect(
        sidebar.locator('.jp-AccordionPanel-title', {
          hasText: 'Activity (1)'
        })
      ).toBeVisible({ timeout: 15000 });
      const section = await expandSection(sidebar, 'activity', /^Activity/);
      const list = section.getByRole('list', {
        name: 'Operations in progress'
      });
      const row = list.locator('.jp-ModelVault-Activity[data-kind="export"]');
      await expect(row).toHaveCount(1);
      await expect(row).toContainText(`${name}@1.0.0`);
      await expect(row).toContainText('Export');
      const bar = row.getByRole('progressbar');
      const value = Number(await bar.getAttribute('aria-valuenow'));
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(100);
      await expect(bar).toHaveAttribute('aria-valuetext', /of \d+(\.\d)? MiB/);

      // How far the bytes got depends on socket buffers: for the screenshots,
      // the real answer is pinned at 40 %.
      await page.route('**/modelvault/api/activity*', async route => {
        const response = await route.fetch();
        const body = await response.json();
        for (const op of body.operations) {
          op.bytes_done = Math.round(op.total * 0.4);
        }
        await route.fulfill({ response, json: body });
      });
      await expect(bar).toHaveAttribute('aria-valuenow', '40');
      const mask = [sidebar.locator('.jp-ModelVault-Endpoint-url')];
      await expect(sidebar).toHaveScreenshot('activity-light.png', { mask });
      await page.theme.setDarkTheme();
      await expect(page.locator('body')).toHaveAttribute(
        'data-jp-theme-light',
        'false'
      );
      await expect(row).toBeVisible();
      await expect(sidebar).toHaveScreenshot('activity-dark.png', { mask });
      await page.unroute('**/modelvault/api/activity*');

      // Keyboard: the row is focusable and announces what it is.
      await row.focus();
      await expect(row).toBeFocused();
      await expect(row).toHaveAttribute(
        'aria-label',
        new RegExp(`^Export ${name}@1\\.0\\.0, .* of `)
      );

      // The client goes away: the export failed, the user is told why.
      download.destroy();
      await expect(
        page
          .locator('.Toastify__toast')
          .filter({ hasText: `${name}@1.0.0 failed: The export was cut short` })
      ).toHaveCount(1, { timeout: 15000 });
      await expect(row).toHaveCount(0);
      await expect(section.getByRole('status')).toHaveText(
        'No transfers or exports in progress.'
      );
    } finally {
      download.destroy();
    }
  });
});

/**
 * A small wheel, built by the test helpers of the Python suite.
 */
function wheel(project: string, version: string): Buffer {
  return execFileSync(
    process.env.PYTHON || 'python',
    [
      '-c',
      'import sys; from tests.pypi.dists import wheel_bytes; ' +
        'sys.stdout.buffer.write(wheel_bytes(sys.argv[1], sys.argv[2]))',
      project,
      version
    ],
    { cwd: path.resolve(__dirname, '..', '..') }
  );
}

test.describe('ModelVault bundle wizard', () => {
  // The other specs share this server and expect only the default repository.
  const PYPI = 'ui-pypi';
  test.afterEach(async ({ request }) => {
    await ok(
      request.delete(`/modelvault/api/repositories/${PYPI}`),
      200,
      204,
      404
    );
  });

  test('adds a package from a PyPI repository', async ({ page, request }) => {
    // A fixed project keeps the screenshots stable; the bundle name is new each run.
    const project = 'mvdemo';
    await ok(
      request.post('/modelvault/api/repositories', {
        data: { key: PYPI, kind: 'pypi-local' }
      }),
      201,
      409
    );
    const minted = await request.post('/modelvault/api/tokens', {
      data: { name: 'ui-tests upload', scope: 'write' }
    });
    expect(minted.status()).toBe(201);
    const token: string = (await minted.json()).token;
    const filename = `${project}-1.0.0-py3-none-any.whl`;
    await ok(
      request.post(`/modelvault/pypi/${PYPI}/legacy/`, {
        headers: {
          Authorization: `Basic ${Buffer.from(`__token__:${token}`).toString('base64')}`
        },
        multipart: {
          ':action': 'file_upload',
          protocol_version: '1',
          name: project,
          version: '1.0.0',
          content: {
            name: filename,
            mimeType: 'application/octet-stream',
            buffer: wheel(project, '1.0.0')
          }
        }
      }),
      200 // an identical re-upload (a retry) is accepted again
    );

    const sidebar = await openSidebar(page);
    // Room for the wizard: only the Bundles section open.
    await sidebar
      .locator('.jp-AccordionPanel-title', { hasText: /^Repositories/ })
      .click();
    const section = await expandSection(sidebar, 'bundles', /^Bundles/);
    await section.getByRole('button', { name: 'Create bundle…' }).click();
    const wizard = section.getByRole('form', { name: 'Create bundle' });
    const bundle = `ui-bundle-${Date.now()}`;
    await wizard.getByLabel('Name').fill(bundle);
    await wizard.getByLabel('Version', { exact: true }).fill('1.0.0');
    await wizard.getByRole('button', { name: 'Next' }).click();

    await wizard.getByRole('radio', { name: 'Package' }).check();
    const select = (label: string) =>
      wizard.getByRole('combobox', { name: label, exact: true });
    await select('Repository').selectOption(PYPI);
    await select('Project').selectOption(project);
    await expect(select('Version')).toHaveValue('1.0.0');
    await select('Files').selectOption(filename);
    await wizard.getByRole('button', { name: 'Add component' }).click();
    const components = wizard.getByRole('list', { name: 'Components' });
    await expect(components.locator('li[data-kind="package"]')).toContainText(
      filename
    );
    await expect(components.locator('li[data-kind="package"]')).toContainText(
      PYPI
    );
    await expect(section).toHaveScreenshot('wizard-package-light.png');
    await page.theme.setDarkTheme();
    await expect(page.locator('body')).toHaveAttribute(
      'data-jp-theme-light',
      'false'
    );
    await expect(section).toHaveScreenshot('wizard-package-dark.png');

    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard
      .getByRole('button', { name: 'Check policy and create' })
      .click();
    await expect(
      page
        .locator('.Toastify__toast')
        .filter({ hasText: `Bundle ${bundle} 1.0.0 created.` })
    ).toHaveCount(1);
  });
});
