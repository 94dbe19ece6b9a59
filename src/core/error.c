/* Error names and messages, generated from WEFT_ERROR_LIST in weft/error.h. */
#include "core/core.h"

const char *weft_strerror(int code)
{
	switch (code) {
	case 0:
		return "success";
#define WEFT__ERR_MSG(name, value, msg, py) \
	case value:                         \
		return msg;
		WEFT_ERROR_LIST(WEFT__ERR_MSG)
#undef WEFT__ERR_MSG
	}
	return code <= WEFT_EUSER ? "application error" : "unknown error";
}

const char *weft_errname(int code)
{
	switch (code) {
	case 0:
		return "WEFT_OK";
#define WEFT__ERR_NAME(name, value, msg, py) \
	case value:                          \
		return "WEFT_" #name;
		WEFT_ERROR_LIST(WEFT__ERR_NAME)
#undef WEFT__ERR_NAME
	}
	return code <= WEFT_EUSER ? "WEFT_EUSER" : "WEFT_EUNKNOWN";
}
