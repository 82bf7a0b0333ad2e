DROP TABLE scim_request_errors;
DROP TABLE connection_activity;
