/**
 * Vercel frontend facts: the prefix each framework requires before it exposes an environment
 * variable to code running in the browser. A variable without it is left out of the bundle, so
 * the frontend would never see the API's URL.
 */

/**
 * Vercel framework preset -> the prefix of browser-visible env vars (Vite `VITE_`, Next.js
 * `NEXT_PUBLIC_`, Create React App `REACT_APP_`, Gatsby `GATSBY_`, Astro and SvelteKit
 * `PUBLIC_`). A framework not listed here is not checked.
 */
export const PUBLIC_ENV_PREFIXES: Readonly<Record<string, string>> = {
    vite: "VITE_",
    nextjs: "NEXT_PUBLIC_",
    "create-react-app": "REACT_APP_",
    gatsby: "GATSBY_",
    astro: "PUBLIC_",
    sveltekit: "PUBLIC_",
};

/** Vercel's REST API, bearer token (https://vercel.com/docs/rest-api). */
export const VERCEL_API_URL = "https://api.vercel.com";
