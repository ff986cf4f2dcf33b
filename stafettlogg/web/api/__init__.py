"""The JSON API (`/api/v1`): one controller per part of the contract, their request
and response bodies, bearer-token sign-in and RFC 9457 problem details."""
