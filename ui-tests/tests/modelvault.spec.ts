import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';

/**
 * The sidebar id, as passed to `app.shell.add` (also the tab's `data-id`).
 */
const SIDEBAR_ID = 'modelvault-sidebar';

const NOT_INSTALLED = 'ModelVault server extension is not installed or enabled';

/**
 * Open the ModelVault sidebar by clicking its tab in the left side bar.
 */
async function openSidebar(page: IJupyterLabPageFixture): Promise<Locator> {
  const tab = page.locator(
    `.jp-SideBar.jp-mod-left li[data-id="${SIDEBAR_ID}"]`
  );
  await expect(tab).toHaveAttribute('title', 'ModelVault');
  await tab.click();
  const sidebar = page.locator(`#${SIDEBAR_ID}`);
  await expect(sidebar).toBeVisible();
  return sidebar;
}

/**
 * The toasts whose text contains `text`.
 */
function toasts(page: IJupyterLabPageFixture, text: string): Locator {
  return page.locator('.Toastify__toast').filter({ hasText: text });
}

test.describe('ModelVault sidebar against the server', () => {
  test('lists the default hf-local repository', async ({ page, baseURL }) => {
    const consoleProblems: string[] = [];
    page.on('console', message => {
      if (
        ['error', 'warning'].includes(message.type()) &&
        /modelvault/i.test(message.text())
      ) {
        consoleProblems.push(message.text());
      }
    });
    const sidebar = await openSidebar(page);

    await expect(
      sidebar.getByRole('heading', { name: 'ModelVault' })
    ).toBeVisible();
    const repositories = sidebar.getByRole('list', {
      name: 'Hugging Face Hub repositories'
    });
    const models = repositories.locator('li[data-key="models"]');
    await expect(models).toHaveCount(1);
    await expect(
      models.locator('.jp-ModelVault-RepositoryItem-key')
    ).toHaveText('models');
    await expect(
      models.locator('.jp-ModelVault-RepositoryItem-kind')
    ).toHaveText('hf-local');
    await expect(models.locator('.jp-ModelVault-Endpoint-url')).toHaveText(
      `${baseURL}/modelvault/hf/models`
    );
    // The handshake succeeded: no warning, no error.
    await expect(sidebar.getByRole('alert')).toHaveCount(0);
    await expect(toasts(page, 'ModelVault')).toHaveCount(0);
    expect(consoleProblems).toEqual([]);

    // Light theme (galata's default).
    await page.screenshot({
      path: test.info().outputPath('lab-light.png')
    });
    await expect(sidebar).toHaveScreenshot('sidebar-light.png', {
      mask: [sidebar.locator('.jp-ModelVault-Endpoint-url')]
    });

    // Dark theme, through JupyterLab's theme command (apputils:change-theme).
    await page.theme.setDarkTheme();
    await expect(page.locator('body')).toHaveAttribute(
      'data-jp-theme-light',
      'false'
    );
    await expect(models).toBeVisible();
    await page.screenshot({ path: test.info().outputPath('lab-dark.png') });
    await expect(sidebar).toHaveScreenshot('sidebar-dark.png', {
      mask: [sidebar.locator('.jp-ModelVault-Endpoint-url')]
    });
  });

  test('refreshes from the toolbar and the command palette', async ({
    page
  }) => {
    const sidebar = await openSidebar(page);
    await expect(sidebar.locator('li[data-key="models"]')).toBeVisible();
    const isRepositoryList = (url: string) =>
      new URL(url).pathname.endsWith('/modelvault/api/repositories');

    // Toolbar button: keyboard accessible, labelled by the command caption.
    const refresh = sidebar.getByRole('button', {
      name: 'Refresh the ModelVault server status and repositories'
    });
    let response = page.waitForResponse(r => isRepositoryList(r.url()));
    await refresh.focus();
    await page.keyboard.press('Enter');
    expect((await response).status()).toBe(200);

    // Command palette: "Refresh ModelVault" in the ModelVault category.
    response = page.waitForResponse(r => isRepositoryList(r.url()));
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute(
        'apputils:activate-command-palette'
      );
    });
    await page.keyboard.type('Refresh ModelVault');
    const item = page.locator('.lm-CommandPalette-item', {
      hasText: 'Refresh ModelVault'
    });
    await expect(item).toHaveCount(1);
    await page.keyboard.press('Enter');
    expect((await response).status()).toBe(200);
    await expect(sidebar.locator('li[data-key="models"]')).toBeVisible();
  });
});

test.describe('ModelVault sidebar with a failing server', () => {
  // Install the routes before JupyterLab loads, so that activation sees them.
  test.use({ autoGoto: false });

  test('warns when the server extension is missing', async ({ page }) => {
    await page.route('**/modelvault/api/**', route =>
      route.fulfill({
        status: 404,
        contentType: 'text/html',
        body: '<html><body>404 : Not Found</body></html>'
      })
    );
    await page.goto();

    await expect(toasts(page, NOT_INSTALLED)).toHaveCount(1);
    const sidebar = await openSidebar(page);
    await expect(sidebar.getByRole('alert')).toContainText(NOT_INSTALLED);
    await expect(sidebar.getByRole('listitem')).toHaveCount(0);
    await page.screenshot({
      path: test.info().outputPath('not-installed.png')
    });
  });

  test('warns once about a version mismatch', async ({ page }) => {
    await page.route('**/modelvault/api/info*', route =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          name: 'ModelVault',
          version: '9.9.9',
          user: { name: 'ui-tests', admin: true }
        })
      })
    );
    await page.goto();

    const sidebar = await openSidebar(page);
    await expect(sidebar.getByRole('alert')).toContainText(
      'ModelVault versions differ'
    );
    await expect(sidebar.getByRole('alert')).toContainText('9.9.9');
    // The server still works: its repositories are listed.
    await expect(sidebar.locator('li[data-key="models"]')).toBeVisible();
    // Refreshing does not warn again.
    await sidebar
      .getByRole('button', {
        name: 'Refresh the ModelVault server status and repositories'
      })
      .click();
    await expect(toasts(page, 'ModelVault versions differ')).toHaveCount(1);
    await page.screenshot({
      path: test.info().outputPath('version-mismatch.png')
    });
  });

  test("shows the server's error message", async ({ page }) => {
    await page.route('**/modelvault/api/repositories*', route =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({
          message: 'Vault storage is unavailable',
          reason: 'Internal Server Error',
          code: 'StorageError'
        })
      })
    );
    await page.goto();

    const sidebar = await openSidebar(page);
    await expect(sidebar.getByRole('alert')).toHaveText(
      'Vault storage is unavailable'
    );
    await page.screenshot({ path: test.info().outputPath('server-error.png') });
  });
});
