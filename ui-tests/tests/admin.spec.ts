import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { request as playwrightRequest } from '@playwright/test';

import { openLab, setTheme } from './lab';
import { BASE_URL, CLEAN_REPO, seedVault } from './seed';

/**
 * Names no other spec uses, so that this spec sees only its own changes.
 */
const REMOTE = 'admin-mirror';
const VIRTUAL = 'admin-all';
const TOKEN = 'ui-admin-revoke-me';

test.use({ autoGoto: false });
// Start-up alone can take half a minute on the loaded shared machine.
test.setTimeout(180_000);

async function api<T>(
  method: 'get' | 'post' | 'delete',
  path: string,
  data?: unknown
): Promise<T> {
  const context = await playwrightRequest.newContext({ baseURL: BASE_URL });
  try {
    const response = await context[method](`modelvault/api/${path}`, { data });
    if (!response.ok() && response.status() !== 404) {
      throw new Error(`${method} ${path}: ${response.status()}`);
    }
    return response.status() === 204 || response.status() === 404
      ? (undefined as T)
      : ((await response.json()) as T);
  } finally {
    await context.dispose();
  }
}

test.beforeAll(async () => {
  await seedVault();
  // A retry starts from a clean slate.
  await api('delete', `repositories/${VIRTUAL}`);
  await api('delete', `repositories/${REMOTE}`);
  const { tokens } = await api<{ tokens: any[] }>('get', 'tokens');
  for (const token of tokens) {
    if (token.name === TOKEN && token.revoked_at === null) {
      await api('delete', `tokens/${token.id}`);
    }
  }
});

// Later specs draw every repository (sidebar, dashboard): leave none behind.
test.afterAll(async () => {
  await api('delete', `repositories/${VIRTUAL}`);
  await api('delete', `repositories/${REMOTE}`);
});

async function openAdmin(page: IJupyterLabPageFixture, tab: string) {
  await page.setViewportSize({ width: 1300, height: 900 });
  await openLab(page);
  // Offered once the handshake says the Jupyter user administers the vault.
  await page.waitForFunction(
    () =>
      (window as any).jupyterapp.commands.isEnabled('modelvault:open-admin'),
    undefined,
    { timeout: 30000 }
  );
  await page.evaluate(async tab => {
    await (window as any).jupyterapp.commands.execute('modelvault:open-admin', {
      tab
    });
  }, tab);
  await closeToasts(page);
  const admin = page.locator('#modelvault-admin');
  await expect(admin.getByRole('tabpanel')).toBeVisible();
  return admin;
}

async function closeToasts(page: IJupyterLabPageFixture) {
  // Notices (e.g. a version notice of a dev install) would cover the page.
  for (const close of await page.locator('.Toastify__close-button').all()) {
    await close.click();
  }
  // One arriving later (the handshake's) must not cover a screenshot either.
  await page.addStyleTag({ content: '.Toastify { display: none; }' });
}

test.describe('ModelVault admin page', () => {
  test('creates, configures and deletes repositories; tabs follow the keyboard', async ({
    page
  }) => {
    const admin = await openAdmin(page, 'repositories');
    // WAI-ARIA tabs: arrow keys, Home and End move the selection and focus.
    const tablist = admin.getByRole('tablist', { name: 'Administration' });
    const tabs = tablist.getByRole('tab');
    await expect(tabs).toHaveText([
      'Repositories',
      'Global policies',
      'Tokens'
    ]);
    await tabs.first().focus();
    await page.keyboard.press('ArrowRight');
    await expect(
      admin.getByRole('tab', { name: 'Global policies' })
    ).toBeFocused();
    await expect(
      admin.getByRole('tab', { name: 'Global policies' })
    ).toHaveAttribute('aria-selected', 'true');
    await expect(admin.getByRole('tabpanel')).toHaveAttribute(
      'data-tab',
      'policies'
    );
    await page.keyboard.press('End');
    await expect(admin.getByRole('tab', { name: 'Tokens' })).toBeFocused();
    await page.keyboard.press('ArrowRight'); // wraps around
    await expect(
      admin.getByRole('tab', { name: 'Repositories' })
    ).toHaveAttribute('aria-selected', 'true');
    // Only the selected tab is in the Tab order; Tab moves into the panel.
    await expect(tabs.nth(1)).toHaveAttribute('tabindex', '-1');
    await page.keyboard.press('Tab');
    await expect(
      admin.getByRole('button', { name: 'New repository' })
    ).toBeFocused();

    await page.locator('.lm-MenuBar-item', { hasText: 'ModelVault' }).click();
    await expect(
      page.locator('.lm-Menu-item', { hasText: 'ModelVault Administration' })
    ).toBeVisible();
    await page.keyboard.press('Escape');

    const form = admin.getByRole('form', { name: 'New repository' });
    await form.getByLabel('Key').fill(REMOTE);
    await form.getByLabel('Kind').selectOption('hf-remote');
    await form.getByLabel('Description').fill('Mirror made by the admin page');
    // The screenshot shows no port (CI and local runs differ).
    await form.getByLabel('Upstream URL').fill('https://hub.example.org');
    await expect(form).toHaveScreenshot('admin-repository-form-light.png');
    await setTheme(page, true);
    await expect(form).toHaveScreenshot('admin-repository-form-dark.png');
    await setTheme(page, false);

    await form
      .getByLabel('Upstream URL')
      .fill(`${BASE_URL}/modelvault/hf/models`);
    await form.getByRole('button', { name: 'Create' }).click();
    await expect(admin.getByRole('status')).toHaveText(
      `Repository "${REMOTE}" created.`
    );
    const table = admin.getByRole('table', { name: 'Repositories' });
    await expect(
      table.locator(`tr[data-repository="${REMOTE}"]`)
    ).toContainText('/modelvault/hf/models');

    // A virtual repository over both, members in the chosen order.
    await admin.getByRole('button', { name: 'New repository' }).click();
    const fresh = admin.getByRole('form', { name: 'New repository' });
    await fresh.getByLabel('Key').fill(VIRTUAL);
    await fresh.getByLabel('Kind').selectOption('hf-virtual');
    await fresh.getByRole('checkbox', { name: REMOTE }).check();
    await fresh.getByRole('checkbox', { name: 'models', exact: true }).check();
    await fresh.getByRole('button', { name: 'Move models up' }).click();
    await fresh
      .getByLabel(/Policy overrides/)
      .fill('[{"name": "custom-code", "action": "block"}]');
    await fresh.getByRole('button', { name: 'Create' }).click();
    await expect(admin.getByRole('status')).toHaveText(
      `Repository "${VIRTUAL}" created.`
    );
    const stored = await api<any>('get', `repositories/${VIRTUAL}`);
    expect(stored.config.members).toEqual(['models', REMOTE]);
    expect(stored.config.policies).toEqual([
      { name: 'custom-code', action: 'block' }
    ]);

    // A refused change says why and saves nothing.
    const configure = admin.getByRole('form', {
      name: `Configure repository ${VIRTUAL}`
    });
    await configure.getByLabel(/Policy overrides/).fill('[{"name": "x"}]');
    await configure.getByRole('button', { name: 'Save' }).click();
    await expect(configure.getByRole('alert')).not.toBeEmpty();
    expect(
      (await api<any>('get', `repositories/${VIRTUAL}`)).config.policies
    ).toEqual([{ name: 'custom-code', action: 'block' }]);

    // Delete asks first, with a warn button; Cancel keeps the repository.
    await table.getByRole('button', { name: `Delete ${VIRTUAL}` }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toContainText(`Delete repository "${VIRTUAL}"`);
    await dialog.locator('.jp-mod-reject').click();
    await expect(table.locator(`tr[data-repository="${VIRTUAL}"]`)).toHaveCount(
      1
    );
    await table.getByRole('button', { name: `Delete ${VIRTUAL}` }).click();
    await page
      .getByRole('dialog')
      .locator('.jp-mod-warn', { hasText: 'Delete' })
      .click();
    await expect(table.locator(`tr[data-repository="${VIRTUAL}"]`)).toHaveCount(
      0
    );
    expect(await api('get', `repositories/${VIRTUAL}`)).toBeUndefined();
  });

  test('previews a policy change before saving it', async ({ page }) => {
    const before = await api<any>('get', 'policies');
    const admin = await openAdmin(page, 'policies');
    const editor = admin.getByLabel('Global policies (JSON list)');
    const save = admin.getByRole('button', { name: 'Save', exact: true });
    await expect(save).toBeDisabled();
    // Deny Apache-2.0 in local repositories too: the seeded clean repo is hit.
    const proposed = (before.policies as any[]).map(({ summary: _s, ...p }) =>
      p.name === 'approved-licenses'
        ? {
            ...p,
            params: {
              ...p.params,
              deny: ['Apache-2.0'],
              repository_kinds: ['hf-local', 'hf-remote', 'pypi-remote']
            }
          }
        : p
    );
    await editor.fill(JSON.stringify(proposed, null, 2));
    await admin.getByRole('button', { name: 'Preview' }).click();
    const preview = admin.getByRole('region', {
      name: 'Preview of the change'
    });
    const rows = preview.getByRole('table', {
      name: 'What the change would block'
    });
    const hit = rows.locator('tr[data-change="newly-blocked"]', {
      hasText: CLEAN_REPO
    });
    await expect(hit.first()).toContainText('approved-licenses');
    await expect(hit.first()).toContainText('(whole repo)');
    await expect(save).toBeEnabled();

    await page.setViewportSize({ width: 1300, height: 1000 });
    // The editor and the policies in force: the preview's rows (and so its height) depend on
    // what the other specs seeded, so it is checked by its content above, not by pixels.
    const form = admin.locator('.jp-ModelVault-AdminColumns');
    await expect(form).toHaveScreenshot('admin-policies-light.png');
    await setTheme(page, true);
    await expect(form).toHaveScreenshot('admin-policies-dark.png');
    await closeToasts(page);
    await page.screenshot({ path: '../docs/images/admin-policies-dark.png' });
    await setTheme(page, false);

    // Editing again makes the preview stale: Save waits for a new preview.
    await editor.press('End');
    await editor.type(' ');
    await expect(save).toBeDisabled();
    await admin.getByRole('button', { name: 'Discard changes' }).click();
    // Nothing was saved.
    expect(await api<any>('get', 'policies')).toEqual(before);
  });

  test('revokes a token after a confirmation', async ({ page }) => {
    await api('post', 'tokens', {
      name: TOKEN,
      scope: 'read',
      repositories: ['models'],
      expires_in_seconds: 3600
    });
    const admin = await openAdmin(page, 'tokens');
    const table = admin.getByRole('table', { name: 'Tokens' });
    const row = table.locator('tr', { hasText: TOKEN }).first();
    await expect(row).toContainText('models');
    await row.getByRole('button', { name: `Revoke token ${TOKEN}` }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toContainText(`Revoke token "${TOKEN}"?`);
    const content = page.locator('.jp-Dialog-content');
    await expect(content).toHaveScreenshot('admin-revoke-light.png');
    await setTheme(page, true);
    await expect(content).toHaveScreenshot('admin-revoke-dark.png');
    await setTheme(page, false);
    // The warn button acts; Cancel is the default (Enter does nothing harmful).
    await dialog.locator('.jp-mod-warn', { hasText: 'Revoke' }).click();
    await expect(admin.getByRole('status')).toHaveText(
      `Token "${TOKEN}" revoked.`
    );
    await expect(table.locator('tr', { hasText: TOKEN })).toHaveCount(0);
    await admin.getByLabel('Show revoked and expired tokens').check();
    await expect(
      table.locator('tr', { hasText: TOKEN }).first().locator('td[data-state]')
    ).toHaveText('revoked');
    await page.setViewportSize({ width: 1300, height: 800 });
    await closeToasts(page);
    await page.screenshot({ path: '../docs/images/admin-tokens-light.png' });
  });
});
