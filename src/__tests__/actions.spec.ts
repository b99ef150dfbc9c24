import { Notification } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { addActionCommands } from '../actions/commands';
import { bundleViolations, VaultClient } from '../api/client';
import { VaultResponseError } from '../api/request';
import { VaultModel } from '../models/VaultModel';
import { CommandIDs } from '../tokens';
import { FakeHandler, fakeSettings, json, routes } from './fakeServer';

const API = 'modelvault/api';

// Irreversible actions ask first (src/dialogs/confirm.ts, a modal dialog): here the user agrees.
jest.mock('../dialogs/confirm', () => ({
  Confirm: {
    promotion: jest.fn(async () => true),
    waiverRevocation: jest.fn(async () => true)
  }
}));

function setUp(handler: FakeHandler): {
  commands: CommandRegistry;
  model: VaultModel;
} {
  const model = new VaultModel({
    client: new VaultClient({ serverSettings: fakeSettings(handler) }),
    frontendVersion: '0.1.0',
    refreshInterval: 0
  });
  const commands = new CommandRegistry();
  addActionCommands(commands, {
    model,
    trans: nullTranslator.load('modelvault_jlab')
  });
  return { commands, model };
}

function notifications(): Array<[string, string]> {
  return Notification.manager.notifications.map(n => [n.type, n.message]);
}

describe('action commands', () => {
  let model: VaultModel | null = null;

  beforeEach(() => {
    Notification.dismiss();
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    model?.dispose();
    model = null;
    jest.restoreAllMocks();
  });

  it('reports a failed action once with the server message and resolves', async () => {
    const setup = setUp(
      routes({
        [`${API}/waivers/7`]: () =>
          json({ message: 'Waiver 7 not found', code: 'NotFound' }, 404)
      })
    );
    model = setup.model;
    await expect(
      setup.commands.execute(CommandIDs.revokeWaiver, { id: 7 })
    ).resolves.toBeUndefined();
    expect(notifications()).toEqual([
      ['error', 'ModelVault: Waiver 7 not found']
    ]);
  });

  it('notifies the success of an action', async () => {
    const setup = setUp(
      routes({
        [`${API}/waivers/7`]: () => new Response(null, { status: 204 })
      })
    );
    model = setup.model;
    await setup.commands.execute(CommandIDs.revokeWaiver, { id: 7 });
    expect(notifications()).toEqual([['info', 'Waiver 7 revoked.']]);
  });

  it('rejects after reporting when a form must stay open', async () => {
    const setup = setUp(
      routes({
        [`${API}/waivers`]: () =>
          json({ message: 'Only admins may waive', code: 'Forbidden' }, 403),
        [`${API}/bundles`]: () =>
          json(
            {
              message: 'Blocked by policy',
              code: 'BundleBlocked',
              details: {
                violations: [
                  { component: 'models/acme/bert', policy: 'licence' }
                ]
              }
            },
            403
          )
      })
    );
    model = setup.model;
    await expect(
      setup.commands.execute(CommandIDs.grantWaiver, {
        policy: 'p',
        repo_id: 'a/b',
        justification: 'because',
        expires_in_seconds: 60
      })
    ).rejects.toThrow('Only admins may waive');
    const refusal = await setup.commands
      .execute(CommandIDs.submitBundle, {
        name: 'b',
        version: '1',
        components: []
      })
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(VaultResponseError);
    expect(bundleViolations(refusal)).toHaveLength(1);
    expect(notifications()).toEqual([
      ['error', 'ModelVault: Blocked by policy'],
      ['error', 'ModelVault: Only admins may waive']
    ]);
  });

  it('reports a failed user-initiated load the model keeps as its error', async () => {
    const setup = setUp(
      routes({
        [`${API}/repositories/models/hub`]: () =>
          json({ message: 'Upstream unreachable', code: 'UpstreamError' }, 502)
      })
    );
    model = setup.model;
    await setup.commands.execute(CommandIDs.openRepository, {
      repository: 'models'
    });
    expect(model.browser.repository).toBe('models');
    expect(model.browser.hubRepos.error).toBe('Upstream unreachable');
    expect(notifications()).toEqual([
      ['error', 'ModelVault: Upstream unreachable']
    ]);
  });
});
