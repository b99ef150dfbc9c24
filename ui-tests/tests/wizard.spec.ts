import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';

import { openLab, setTheme } from './lab';
import { CLEAN_REPO, EVIL_REPO, seedVault } from './seed';

const SIDEBAR_ID = 'modelvault-sidebar';

test.beforeAll(async () => {
  await seedVault();
});

// Galata's own start-up wait is too short here: see openLab.
test.use({ autoGoto: false });
// Start-up alone can take half a minute on the loaded shared machine.
test.setTimeout(180_000);
test.beforeEach(async ({ page }) => {
  await openLab(page);
});

/**
 * Open the Bundles section through the palette command and return it.
 */
async function openBundles(page: IJupyterLabPageFixture): Promise<Locator> {
  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('modelvault:show-bundles');
  });
  const section = page.locator(`#${SIDEBAR_ID} #modelvault-bundles`);
  await expect(section).toBeVisible();
  return section;
}

/**
 * Open the wizard with `modelvault:create-bundle` and fill the first two steps.
 */
async function fillWizard(
  page: IJupyterLabPageFixture,
  version: string,
  repoIds: string[]
): Promise<Locator> {
  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('modelvault:create-bundle');
  });
  const wizard = page.getByRole('form', { name: 'Create bundle' });
  await expect(wizard).toBeVisible();
  await wizard.getByLabel('Name').fill('wizard-release');
  await wizard.getByLabel('Version').fill(version);
  await wizard.getByRole('button', { name: 'Next' }).click();
  // Other specs add repositories (the dashboard's hub-mirror sorts first): pick `models`.
  await wizard
    .getByRole('combobox', { name: 'Repository', exact: true })
    .first()
    .selectOption('models');
  const hubRepo = wizard.getByRole('combobox', {
    name: 'Hub repo',
    exact: true
  });
  await expect(hubRepo).toBeEnabled();
  for (const repoId of repoIds) {
    await hubRepo.selectOption(`model:${repoId}`);
    await wizard.getByRole('button', { name: 'Add component' }).click();
  }
  await expect(
    wizard.getByRole('list', { name: 'Components' }).locator('li')
  ).toHaveCount(repoIds.length);
  await wizard.getByRole('button', { name: 'Next' }).click();
  await expect(wizard).toContainText('Policy check');
  return wizard;
}

test.describe('Release bundles', () => {
  test('a bundle with a blocked component is refused with its violations', async ({
    page
  }) => {
    await openBundles(page);
    const wizard = await fillWizard(page, `0.0.${Date.now()}`, [EVIL_REPO]);
    await wizard
      .getByRole('button', { name: 'Check policy and create' })
      .click();
    const violations = wizard.locator('.jp-ModelVault-BundleViolations');
    await expect(violations).toContainText('Refused by policy');
    await expect(violations).toContainText(EVIL_REPO);
    await page.screenshot({
      path: test.info().outputPath('wizard-refused.png')
    });
    // The server's message also arrives as a notification.
    await expect(
      page.locator('.Toastify__toast').filter({ hasText: 'ModelVault:' })
    ).not.toHaveCount(0);
    await wizard.getByRole('button', { name: 'Cancel' }).click();
    await expect(wizard).toHaveCount(0);
  });

  test('creates, lists, opens, verifies and promotes a bundle', async ({
    page
  }) => {
    const section = await openBundles(page);
    const version = `1.0.${Date.now()}`;
    const wizard = await fillWizard(page, version, [CLEAN_REPO]);
    await wizard
      .getByRole('button', { name: 'Check policy and create' })
      .click();

    // The created bundle opens: contents, signature key id, no promotion yet.
    const detail = section.locator(
      `.jp-ModelVault-BundleDetail[data-bundle="wizard-release@${version}"]`
    );
    await expect(detail).toBeVisible();
    await expect(detail.getByRole('list', { name: 'Contents' })).toContainText(
      CLEAN_REPO
    );
    await expect(detail.getByRole('list', { name: 'Contents' })).toContainText(
      'config.json'
    );
    await expect(detail.locator('.jp-ModelVault-BundleKeyId')).not.toHaveText(
      '—'
    );
    await expect(detail).toContainText('Not promoted yet.');

    // Back to the list: it is listed; open it again with the keyboard.
    await detail.getByRole('button', { name: '← All bundles' }).click();
    const item = section.locator(`li[data-bundle="wizard-release@${version}"]`);
    await expect(item).toBeVisible();
    await item.locator('.jp-ModelVault-BundleOpen').focus();
    await page.keyboard.press('Enter');
    await expect(detail).toBeVisible();

    await detail.getByRole('button', { name: 'Verify' }).click();
    await expect(detail.locator('.jp-ModelVault-BundleVerify')).toContainText(
      'Verified'
    );

    // The Jupyter user of the test server is an administrator.
    // Promotion asks first: Cancel promotes nothing.
    await detail.getByRole('button', { name: 'Promote to DEV' }).click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('Promote bundle?');
    await dialog.locator('.jp-Dialog-button.jp-mod-reject').click();
    await expect(dialog).toHaveCount(0);
    await expect(detail).toContainText('Not promoted yet.');
    await detail.getByRole('button', { name: 'Promote to DEV' }).click();
    // Only the warn button promotes.
    await dialog
      .locator('.jp-Dialog-button.jp-mod-warn', { hasText: 'Promote to DEV' })
      .click();
    await expect(detail.locator('.jp-ModelVault-BundleEnvironment')).toHaveText(
      'DEV'
    );
    await expect(
      detail.getByRole('list', { name: 'Promotions' })
    ).toContainText('DEV');
    await expect(
      detail.getByRole('button', { name: 'Promote to QA' })
    ).toBeVisible();

    // The AI-BOM is fetched with the server's auth and saved as a file.
    const download = page.waitForEvent('download');
    await detail.getByRole('button', { name: 'Download AI-BOM' }).click();
    expect((await download).suggestedFilename()).toBe(
      `wizard-release-${version}.cdx.json`
    );
  });

  test('bundle detail in light and dark themes', async ({ page }) => {
    // Tall enough for the whole detail, pipeline included: an element
    // screenshot of a partly scrolled-out detail shows what lies below it.
    await page.setViewportSize({ width: 1280, height: 1100 });
    const section = await openBundles(page);
    // Only Bundles open: the section gets the sidebar's height.
    const repositories = page
      .locator(`#${SIDEBAR_ID} .jp-AccordionPanel-title`)
      .filter({ hasText: 'Repositories' });
    if ((await repositories.getAttribute('aria-expanded')) === 'true') {
      await repositories.click();
    }
    await section
      .locator('li[data-bundle="bert-release@1.0.0"] .jp-ModelVault-BundleOpen')
      .click();
    const detail = section.locator(
      '.jp-ModelVault-BundleDetail[data-bundle="bert-release@1.0.0"]'
    );
    await expect(detail).toContainText(CLEAN_REPO);
    // Digest, key id, commit and file hashes vary between runs.
    const mask = [
      detail.locator('.jp-ModelVault-BundleMeta code'),
      detail.locator('.jp-ModelVault-BundleContents code')
    ];
    await expect(detail).toHaveScreenshot('bundle-detail-light.png', { mask });
    await page.screenshot({
      path: test.info().outputPath('bundle-detail-lab-light.png')
    });
    await setTheme(page, true);
    await expect(detail).toHaveScreenshot('bundle-detail-dark.png', { mask });
    await page.screenshot({
      path: test.info().outputPath('bundle-detail-lab-dark.png')
    });
    await setTheme(page, false);
  });
});
