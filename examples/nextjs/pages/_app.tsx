import type { AppProps } from "next/app";
import Head from "next/head";
import { SessionProvider } from "next-auth/react";
import "../styles.css";

export default function App({ Component, pageProps: { session, ...pageProps } }: AppProps) {
  return (
    <SessionProvider session={session}>
      <Head><link rel="icon" href="data:," /></Head>{/* no icon: and no request for /favicon.ico */}
      <Component {...pageProps} />
    </SessionProvider>
  );
}
