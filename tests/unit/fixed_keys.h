/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixed test keys, generated once with `openssl genpkey`, so that every run
 * of the signature tests signs with the same keys: a pass on one machine is
 * a pass on all.  Test material only: never use these keys for anything.
 * Include it after <cmocka.h>: fixed_key() asserts.
 */
#ifndef FIXED_KEYS_H
#define FIXED_KEYS_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

static const char test_key_rsa[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDID4lStWWeTmnd\n"
	"S6u0rilanxUEXoQAenLKgHTttj72Trw/e0rOXbAyg+At+6KZ2O+eba9XtbclIIfR\n"
	"Z+V+VFO0f55rFSunFgD5sUEqHP7AAHV1zjJSvYsBXs4cpAAJk04z5IvfeOt95R6F\n"
	"p6oXI2TpSO18m5eS22vikIV1X5lqbCu8G0WFyzFb11FRc0c8xJ/zQpFwXHDL595s\n"
	"Y3gPtqDOJ1XW02msCr5+OexgpB5SE37cBaWX1A/8RlJB62f/G39+0vgYDiWWi8bk\n"
	"oKH/8d1J492TbVliW7/XUq1lOSvhT4jjFoi1Pc9uB695oEF82AbH5CAzteD1vD55\n"
	"mtcftDxXAgMBAAECggEAW2lF7MW3tdrMYnIl9buyZ5bSqplpJTLN6ptBUjB4mmCl\n"
	"gTgbmSmTzbEWKMyWokdOTYx+lswP7+XqSRN49/0d9hZt0y3sMT9LmMuWI+D1wdMz\n"
	"2G0r70RuFGU2Nj31SmrFS8683pJIv9CF3roabNIeVL2ezdXmLxMVO4Ofh170IXyW\n"
	"tcQUXlAuAiOBNTyNpFpuxCIWdo8rMImDOo3PhkLzXtfUGWABcvj0pLrM/XdC1NyE\n"
	"zkMxv7tpf8/U7rJhaUVnXsk9hdEh9Wolalh28WV639O1W8DlBYNKZVFLmK1ucH0r\n"
	"t5G0QovFcqkOdFpA5JwvIY8I+HEkOugIN+raUqBwyQKBgQDloFod6ZUqj1cOUblc\n"
	"dbkqSvTKb7oekrP4in9OfgE7voi3XlgzHZikSbDgllKTH4EKnW1Nt48wnVP7QtGv\n"
	"3K9e9MONWEWo+9snbuVDhuh/iLBo+Z9j1MXUzv4dM7MSUPwg/JDSnR/HZlqx9hJp\n"
	"VBEZLnv7AS6uIrSfnESMQ9Pm1QKBgQDfCd8tfRIkxNhj9SLU4DH/XCi4imMpzDbH\n"
	"70UmcrtBBSmXmHH0vxGqD+HHUaw80+fr3TRuUVzKalTCGAs176Jh1cGnD9j4nIke\n"
	"j/PmsaCc6YEsQ4I5uCgxP7ajYK4OkgfHkxsmPxm7NHWtXztaWD/A4a/vchj6n2z8\n"
	"LWxuqqUEewKBgF2D+m9oK2mTyr54Jeczwl8o+5xd+Axvbn/v13zd8B6msAMNlxnq\n"
	"Gbn+kNxGHAbys5jhGByoftYrnIIdakwWsg0X3XP42RXCzDO5BAGGNbWKs11tG66K\n"
	"fq72RaMa5Pi2ppfAhDJh7wlD8/e54TGoHPaGadOFXb9pPuopt/jvvqKpAoGBAMjD\n"
	"qhDYNCzEw8O2NNRJureRzVXPu9Mz71upFSW2wLeWXgoHPwx/sPbTtPglnFRkqq61\n"
	"PyzOMChD7meIHQ8/1XsbXmVy7mta/FJ2YaWW3mxgA9ZELkSmcAdkwpHtxL9402fi\n"
	"Et4qjo7kecjFoDeCmGCWxjdTDQkL2J5mhORY1pFhAoGBAMtwPtrtBOjOg/HPxcJ6\n"
	"Cp+DRj1JDNd9wt46QorLGGEpW8sWX7RGLonZBpcwm2As7iP19s+bMTJwo82XpDqR\n"
	"Artk5EQV7WskLtNVwLOZWbv3Cn+LpQuCsoJWwMsbZPfDWeyHPHvXX02vqCTgmeLM\n"
	"o2Qoq94bp8PXm+9pYjpxB6OE\n"
	"-----END PRIVATE KEY-----\n"
;

static const char test_key_ec[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTqDR30RBoj8iJVzQ\n"
	"76aQWh1oSOmEN9/DPx42Qoa67k6hRANCAATQaPM9TKBEgEn/5A5WUcl6lvyQLvSm\n"
	"NHFJ+xBsl8EdmxEgeZn7wm1KEFi/Eo2etU1IwMqHSgr4zcsd1vr3i/Oc\n"
	"-----END PRIVATE KEY-----\n"
;

static const char test_key_ed[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEICbsFBz33IBN27dOzlG3rCUYQwLCuqZUGTVQNfnpmcgD\n"
	"-----END PRIVATE KEY-----\n"
;

static const char test_key_rsa2[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCmk/RBUnm9O9VE\n"
	"vEptQlH9DpRxGZLdNdmMyTsIcUH0iTU4KPd44BUboOP+GwnotHqBHIYmpYenntfT\n"
	"cgwmVnhE7UmDTSoJzUH3DDRmyxVcOGGG8M2JuuT5RMalkvoK3ULwi+g+FwjTa920\n"
	"KiV4Li4uhrZUnk8aHYJ4H53KnAutH7X8ye5T7jqCcP3GS2jb37EtNNH7Vj33yk8/\n"
	"vc7K1P2UDIzaYzJI484lt3PeKUKjUOENYb4Spuf0ZKlsRpg9rTqCR+2M58ktM/qo\n"
	"LaoxEBnBD6n2VD9Uz4h2uqHhk671TYDduMcNfvssUmV5/XtN6iaqjAEh+Rtz4UMY\n"
	"b1rh7MLNAgMBAAECggEAK1oWF2n/hOAtgNYACK9Z5yIEP+sH7co19A3q7yeKormS\n"
	"wCrpPOwUkjwtGdSvn4BY4YEq6KPryhPs13q27sNSSZ33o9RRPHvOzxy+BoKT7Iw/\n"
	"1X6V/2JEdRsRF8ZIjMtIwJGov3//LAbGjDzrw3tBSZqFmUAaFhHYAqs3xaMW5tcO\n"
	"aOs3LLpfDYQO+pzYpQvzgvxdYWzc250UOxTOp8kf+FCXQitOIEI0JtqhrT0AwhI5\n"
	"XEku0W3gqYAMSXOs5xJjmQ9PEI6O9YhHWiC8imqbq6UJ+5q7fipFaNvWAJtucmOa\n"
	"jEkPrT2vA/PQNy4HZ1G2qqlx4ra8BRWMawLOs+cdgQKBgQDPaUu2mzQneQcToGhe\n"
	"rxmTBEw5RirvgB3aqKmyyoLQUuRMnjaVZxejrl0N1Ani/vg4sD/qHeEtJc5SPOs4\n"
	"Kor6Er5TR7w4AwHiAnz4BKjMaoI2dNzLnLpxeFkE7jfKOriBKPoV3l7N1nUIuU1X\n"
	"yVKFEgx8cQS9gh/r5+I5qBwbSwKBgQDNmdUmjTyKCGgLyfjYMfz71ZQO5Quh6ZiG\n"
	"eprtdpklEVvjvGA9m+itc8TlrmewWKd+1xcYPVjpC5MhuqUBiNFmsBghPI96DIxw\n"
	"gYvaWey79BSSPDuMUiwXL9Vh7VVsckQdPwRlcTTi3URS+0+eonlnDbCPjj5aKiq+\n"
	"ch+3OAvzRwKBgDc0HE2+41O6N7L2l7DTw+fIVg1MarMSE2AWUgxfMBAIb/EgjwCW\n"
	"zsjm6Kd8jyEWobRc3LYQO9WLYW2r/yMU16aVhIif6C20RzUDWoWcn9zAYGXkFrwu\n"
	"u8TltjPEv56YoHDoGh/l7q+0a7Pltfsuf0MhuacJYayazKo6LpEP+GMfAoGAV27Z\n"
	"5EEfw5t7k7faaSYo7XeQNR1Waw6J3HZ7OAy9Z7QQHbLYQprwwgJ/cyVN1wJ8iEYz\n"
	"/gzoqIJRmYBj91kVo9OzDz9PzJlVh+qvbLXdJLjRnraapDu1oE6pMbHaJ/oX2VAZ\n"
	"MIKJ+QgbrCZPX6i8dASwVvwoq/NOphqmPiZJfrUCgYEAyk8kqmWZmAy38wDoKWxH\n"
	"UFJmOL4ik+lU3NaCRiw/OBNibUX+PKd/qmv3QcWvqU68MXHLs1/iR4vQaj76vJLW\n"
	"jMbbTuerjkJMzFudRIq71E5CuaJt1N4iFxjznYDg5TNKzC2zw5K+vORTA5B9nez9\n"
	"aOUUZs7I6NiLG+1dMT4VQoE=\n"
	"-----END PRIVATE KEY-----\n"
;

static const char test_key_ec2[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgIR9LypDZSAlUdiV0\n"
	"lCnWi/YLJbuxL1x2sqdJpeVtGjehRANCAATS4hjcLm7uL1SlHACLZBDuTu7dkaUz\n"
	"jAwRjvWCcTyiwxK/KTRfcsuMqs6iReQvadah1wCt2s3c+n3pSHeisUjK\n"
	"-----END PRIVATE KEY-----\n"
;

static const char test_key_ed2[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIL94MXEpcwm1aHBL0+vV0ZGdKmNxt82JM8Bt3cQY3PNt\n"
	"-----END PRIVATE KEY-----\n"
;

static const char test_key_ed448[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MEcCAQAwBQYDK2VxBDsEOYFoxHq2Rym1ZdZZDs7hLI+Nn9Krrkx/AEhbDURlrS9t\n"
	"1q14RwOoWO0nQ9/GA8pe46nV6Ji2SIPw3g==\n"
	"-----END PRIVATE KEY-----\n"
;

/* One of the keys above, parsed. */
static inline EVP_PKEY *fixed_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey;

	assert_non_null(bio);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(pkey);
	return pkey;
}

#endif
