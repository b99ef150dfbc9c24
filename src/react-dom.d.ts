// react-dom is JupyterLab's shared singleton (the builder marks core packages
// `import: false`); this package declares only the one function it uses.
declare module 'react-dom' {
  export function flushSync<R>(fn: () => R): R;
}
