import { PageHeader, Empty } from "../components/ui";
import { useTitle } from "../hooks";

export function NotFound({ path, forbidden }: { path: string; forbidden?: boolean }) {
  useTitle(forbidden ? "Not allowed" : "Not found");
  return (
    <>
      <PageHeader title={forbidden ? "Admins only" : "Page not found"} />
      <Empty title={forbidden ? "This page is for administrators." : `Nothing lives at ${path}.`}>
        <a href="#/">Back to the overview</a>
      </Empty>
    </>
  );
}
