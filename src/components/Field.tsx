import * as React from 'react';

type InputProps = Omit<
  React.InputHTMLAttributes<HTMLInputElement>,
  'value' | 'onChange' | 'className'
>;

/**
 * A labelled, JupyterLab-styled text input that reports its new value.
 */
export function TextField(
  props: InputProps & {
    label: React.ReactNode;
    value: string;
    onChange: (value: string) => void;
    /**
     * The class of the label around the input (`jp-ModelVault-Field` in
     * the sidebar, where fields stack).
     */
    fieldClass?: string;
  }
): JSX.Element {
  const { label, onChange, fieldClass, ...input } = props;
  return (
    <label className={fieldClass}>
      {label}
      <input
        className="jp-mod-styled"
        {...input}
        onChange={e => onChange(e.currentTarget.value)}
      />
    </label>
  );
}

/**
 * A labelled, JupyterLab-styled select of `options` (value and text).
 */
export function SelectField(props: {
  label: React.ReactNode;
  name?: string;
  value: string;
  options: ReadonlyArray<{ value: string; text: string }>;
  onChange: (value: string) => void;
  disabled?: boolean;
  fieldClass?: string;
}): JSX.Element {
  return (
    <label className={props.fieldClass}>
      {props.label}
      <select
        className="jp-mod-styled"
        name={props.name}
        value={props.value}
        disabled={props.disabled}
        onChange={e => props.onChange(e.currentTarget.value)}
      >
        {props.options.map(o => (
          <option key={o.value} value={o.value}>
            {o.text}
          </option>
        ))}
      </select>
    </label>
  );
}
