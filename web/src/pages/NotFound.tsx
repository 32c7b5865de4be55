import { PageHeader } from "../components/Layout";
import { EmptyState } from "../components/States";
import { onLinkClick } from "../router";

export function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <EmptyState title="There is nothing at this address.">
        <a href="/keys" class="button" onClick={onLinkClick}>
          Go to your keys
        </a>
      </EmptyState>
    </>
  );
}
