import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { ModelVault } from '../tokens';
import {
  componentKey,
  componentLabel,
  GenericFilePicker,
  HubRepoPicker,
  PackagePicker,
  PickedComponent
} from './BundlePickers';
import { TextField } from './Field';

/**
 * Properties of the `BundleWizard` component.
 */
export interface IBundleWizardProps {
  /**
   * The vault's repositories (the Hub and PyPI ones are offered).
   */
  repositories: ReadonlyArray<ModelVault.IRepository>;
  /**
   * Where the pickers load their choices from.
   */
  source: ModelVault.IBundleSource;
  /**
   * Create the bundle; resolves to the violations when policy refused it,
   * `null` when it was created; rejects on other errors (reported by the caller).
   */
  onCreate: (
    request: ModelVault.IBundleCreateRequest
  ) => Promise<ModelVault.IBundleViolation[] | null>;
  onCancel: () => void;
  trans: TranslationBundle;
}

const STEPS = ['details', 'components', 'check'] as const;
type Step = (typeof STEPS)[number];

const KINDS = ['hub', 'package', 'file'] as const;
type Kind = (typeof KINDS)[number];

/**
 * The "Create bundle" wizard: name and version, components (Hub repos at a
 * revision, Python distributions, generic files), then the policy check (the
 * server re-evaluates every component and refuses the bundle with all
 * blocking violations) before creating it.
 */
export function BundleWizard(props: IBundleWizardProps): JSX.Element {
  const { trans } = props;
  const hubRepositories = props.repositories.filter(r =>
    r.kind.startsWith('hf')
  );
  // Bundles pin packages stored in a pypi-local or pypi-remote repository.
  const pypiRepositories = props.repositories.filter(
    r => r.kind === 'pypi-local' || r.kind === 'pypi-remote'
  );
  const [step, setStep] = React.useState<Step>('details');
  const [name, setName] = React.useState('');
  const [version, setVersion] = React.useState('');
  const [description, setDescription] = React.useState('');
  const [picked, setPicked] = React.useState<PickedComponent[]>([]);
  const [kind, setKind] = React.useState<Kind>('hub');
  const [busy, setBusy] = React.useState(false);
  const [violations, setViolations] = React.useState<
    ModelVault.IBundleViolation[] | null
  >(null);
  const headingRef = React.useRef<HTMLHeadingElement>(null);

  React.useEffect(() => {
    headingRef.current?.focus();
  }, [step]);

  const detailsValid = name.trim() !== '' && version.trim() !== '';
  const stepIndex = STEPS.indexOf(step);
  const stepLabels: Record<Step, string> = {
    details: trans.__('Name and version'),
    components: trans.__('Components'),
    check: trans.__('Policy check')
  };

  const kindLabels: Record<Kind, string> = {
    hub: trans.__('Hub repo'),
    package: trans.__('Package'),
    file: trans.__('File')
  };

  const addComponent = (component: PickedComponent) => {
    const key = componentKey(component);
    if (!picked.some(p => componentKey(p) === key)) {
      setPicked([...picked, component]);
      setViolations(null);
    }
  };

  const create = async () => {
    setBusy(true);
    try {
      const result = await props.onCreate({
        name: name.trim(),
        version: version.trim(),
        ...(description.trim() ? { description: description.trim() } : {}),
        components: picked
      });
      setViolations(result);
    } catch {
      // Reported by the caller; the wizard stays open.
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="jp-ModelVault-BundleWizard"
      aria-label={trans.__('Create bundle')}
      onSubmit={event => {
        event.preventDefault();
        if (step === 'details' && detailsValid) {
          setStep('components');
        } else if (step === 'components' && picked.length > 0) {
          setStep('check');
        } else if (step === 'check' && !busy) {
          void create();
        }
      }}
    >
      <h3 className="jp-ModelVault-GroupTitle" tabIndex={-1} ref={headingRef}>
        {trans.__(
          'Create bundle: step %1 of %2, %3',
          stepIndex + 1,
          STEPS.length,
          stepLabels[step]
        )}
      </h3>
      {step === 'details' && (
        <>
          <TextField
            fieldClass="jp-ModelVault-Field"
            label={trans.__('Name')}
            name="bundle-name"
            required
            value={name}
            onChange={setName}
          />
          <TextField
            fieldClass="jp-ModelVault-Field"
            label={trans.__('Version')}
            name="bundle-version"
            required
            value={version}
            onChange={setVersion}
          />
          <TextField
            fieldClass="jp-ModelVault-Field"
            label={trans.__('Description (optional)')}
            name="bundle-description"
            value={description}
            onChange={setDescription}
          />
        </>
      )}
      {step === 'components' && (
        <>
          <fieldset className="jp-ModelVault-KindChoice">
            <legend>{trans.__('Add a')}</legend>
            {KINDS.map(k => (
              <label key={k}>
                <input
                  type="radio"
                  name="bundle-component-kind"
                  value={k}
                  checked={kind === k}
                  onChange={() => setKind(k)}
                />
                {kindLabels[k]}
              </label>
            ))}
          </fieldset>
          {kind === 'hub' && (
            <HubRepoPicker
              repositories={hubRepositories}
              source={props.source}
              onAdd={addComponent}
              trans={trans}
            />
          )}
          {kind === 'package' && (
            <PackagePicker
              repositories={pypiRepositories}
              source={props.source}
              onAdd={addComponent}
              trans={trans}
            />
          )}
          {kind === 'file' && (
            <GenericFilePicker
              source={props.source}
              onAdd={addComponent}
              trans={trans}
            />
          )}
          <ComponentList
            picked={picked}
            onRemove={index => setPicked(picked.filter((_, i) => i !== index))}
            trans={trans}
          />
        </>
      )}
      {step === 'check' && (
        <>
          <p className="jp-ModelVault-Hint">
            {trans.__(
              '%1 %2 with %3 component(s). Creating it re-evaluates every component against the current policy; a refused bundle lists all blocking violations.',
              name.trim(),
              version.trim(),
              picked.length
            )}
          </p>
          <ComponentList picked={picked} trans={trans} />
          {violations && (
            <div
              className="jp-ModelVault-Alert jp-ModelVault-Alert-error jp-ModelVault-BundleViolations"
              role="alert"
            >
              <strong>
                {trans.__(
                  'Refused by policy: %1 violation(s)',
                  violations.length
                )}
              </strong>
              <ul>
                {violations.map((v, i) => (
                  <li key={i}>
                    <code>{v.component}</code> — {v.policy}: {v.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </>
      )}
      <div className="jp-ModelVault-Actions">
        {stepIndex > 0 && (
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => setStep(STEPS[stepIndex - 1])}
          >
            {trans.__('Back')}
          </button>
        )}
        {step !== 'check' ? (
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept"
            disabled={step === 'details' ? !detailsValid : picked.length === 0}
          >
            {trans.__('Next')}
          </button>
        ) : (
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept"
            disabled={busy || picked.length === 0}
          >
            {busy
              ? trans.__('Checking policy…')
              : trans.__('Check policy and create')}
          </button>
        )}
        <button
          type="button"
          className="jp-mod-styled"
          onClick={props.onCancel}
        >
          {trans.__('Cancel')}
        </button>
      </div>
    </form>
  );
}

function ComponentList(props: {
  picked: ReadonlyArray<PickedComponent>;
  onRemove?: (index: number) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { trans } = props;
  if (props.picked.length === 0) {
    return (
      <p className="jp-ModelVault-Placeholder">
        {trans.__('No components yet.')}
      </p>
    );
  }
  return (
    <ul
      className="jp-ModelVault-EventList jp-ModelVault-BundleComponents"
      aria-label={trans.__('Components')}
    >
      {props.picked.map((p, i) => {
        const label = componentLabel(p);
        return (
          <li key={componentKey(p)} data-kind={p.kind}>
            <div className="jp-ModelVault-Row">
              <span className="jp-ModelVault-Row-name">
                {label.name} {label.detail && <code>{label.detail}</code>}
              </span>
              <span className="jp-ModelVault-Badge">{label.badge}</span>
              {props.onRemove && (
                <button
                  type="button"
                  className="jp-ModelVault-LinkButton"
                  aria-label={trans.__('Remove %1', label.name)}
                  onClick={() => props.onRemove!(i)}
                >
                  {trans.__('Remove')}
                </button>
              )}
            </div>
          </li>
        );
      })}
    </ul>
  );
}
