import * as React from 'react';

/**
 * A table of the admin page: column headers, then the rows the caller
 * renders. `actions` names a last, visually hidden column for row buttons.
 */
export function AdminTable(props: {
  label: string;
  columns: ReadonlyArray<string>;
  actions?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <table
      className="jp-ModelVault-DashboardTable jp-ModelVault-AdminTable"
      aria-label={props.label}
    >
      <thead>
        <tr>
          {props.columns.map(column => (
            <th scope="col" key={column}>
              {column}
            </th>
          ))}
          {props.actions !== undefined && (
            <th scope="col">
              <span className="jp-ModelVault-VisuallyHidden">
                {props.actions}
              </span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
}

/**
 * The outcome of the last action: an error (announced as an alert) and a
 * status line (a live region, kept in the DOM so it is announced).
 */
export function AdminMessages(props: {
  error: string | null;
  status?: string | null;
}): JSX.Element {
  return (
    <>
      {props.error && (
        <p role="alert" className="jp-ModelVault-AdminError">
          {props.error}
        </p>
      )}
      {props.status !== undefined && (
        <p role="status" className="jp-ModelVault-AdminStatus">
          {props.status ?? ''}
        </p>
      )}
    </>
  );
}
